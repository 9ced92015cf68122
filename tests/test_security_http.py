"""The edge over HTTP: Host, Origin on unsafe methods, the token and its cookie, HEAD, CSP."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from django.test import Client

from dashboard_project.security import COOKIE, cookie_value

from .edge import running_with

HOST = "127.0.0.1:8080"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.fixture
def client():
    return Client(HTTP_HOST=HOST)


def test_an_unsafe_method_from_a_page_on_another_port_is_refused(client):
    response = client.post("/", HTTP_ORIGIN="http://127.0.0.1:9999")
    assert response.status_code == 403


@pytest.mark.parametrize(
    "origin", ["null", "http://evil.example", "https://127.0.0.1:8080", "http://localhost:8080"]
)
def test_a_foreign_or_null_origin_is_refused_for_every_unsafe_method(client, origin):
    for method in (client.post, client.put, client.patch, client.delete):
        assert method("/", HTTP_ORIGIN=origin).status_code == 403


def test_an_unsafe_method_from_our_own_origin_reaches_the_view(client):
    # The board takes no POST: 405 shows the request got past the edge.
    assert client.post("/", HTTP_ORIGIN="http://127.0.0.1:8080").status_code == 405


def test_a_foreign_host_is_a_400_even_for_static_files():
    client = Client(HTTP_HOST="evil.example")
    assert client.get("/health").status_code == 400
    assert client.get("/static/dashboard/dashboard.js").status_code == 400


def test_head_answers_like_get_everywhere(client):
    for path in ("/", "/health", "/api/tasks", "/api/stats", "/graph/"):
        response = client.head(path)
        assert response.status_code == 200, path


@pytest.mark.parametrize(
    "path", ["/static/%2e%2e/manage.py", "/static/..%2fmanage.py", "/static/..%2f..%2fetc/passwd"]
)
def test_static_traversal_answers_4xx_never_500(client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500
    assert b"import" not in response.content


def test_static_files_are_not_sniffed(client):
    response = client.get("/static/dashboard/dashboard.js")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_board_has_a_strict_content_security_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"


def test_no_template_holds_an_inline_script_or_event_handler():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+\s*=", text), path


def test_the_board_sets_the_csrf_cookie_and_htmx_sends_it(client):
    response = client.get("/")
    token = response.cookies["csrftoken"].value
    assert token
    assert b'hx-headers=\'{"X-CSRFToken": "' in response.content


def test_pages_are_compressed_for_clients_that_accept_gzip(client):
    response = client.get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"<html" in gzip.decompress(response.content)


# -- the token ------------------------------------------------------------------------------
BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml", "HTTP_SEC_FETCH_MODE": "navigate"}


def test_without_the_token_every_path_is_401_static_files_included(client):
    with running_with(host="0.0.0.0", token="s3cret"):
        for path in ("/", "/health", "/api/stats", "/static/dashboard/dashboard.js"):
            assert client.get(path).status_code == 401, path


def test_opening_a_link_with_the_token_redirects_to_the_same_url_without_it(client):
    with running_with(host="0.0.0.0", token="s3cret"):
        response = client.get("/graph/?agent=dev&token=s3cret&all=1", **BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"] == "/graph/?agent=dev&all=1"
    assert response.cookies[COOKIE].value == cookie_value("s3cret")
    assert response.cookies[COOKIE]["httponly"] and response.cookies[COOKIE]["samesite"] == "Strict"


def test_the_cookie_holds_a_derived_value_never_the_token(client):
    with running_with(host="0.0.0.0", token="s3cret"):
        response = client.get("/?token=s3cret", **BROWSER)
        assert "s3cret" not in response.cookies[COOKIE].value
        assert client.get("/health").status_code == 200  # the cookie is enough from now on
        client.cookies[COOKIE] = "s3cret"
        assert client.get("/health").status_code == 401  # the raw token is no cookie


def test_the_redirect_never_leaves_the_dashboard(client):
    with running_with(host="0.0.0.0", token="s3cret"):
        response = client.get("/?token=s3cret", PATH_INFO="//evil.example/", **BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"] == "/evil.example/"


def test_a_drill_down_link_with_the_token_goes_to_the_clean_url_not_an_error(client):
    with running_with(host="0.0.0.0", token="s3cret"):
        response = client.get("/telemetry/telemetry/invocation/?token=s3cret&o=1", **BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"] == "/telemetry/telemetry/invocation/?o=1"


def test_a_script_with_the_token_in_the_url_gets_its_data_at_once(client):
    with running_with(host="0.0.0.0", token="s3cret"):
        response = client.get("/api/tasks?token=s3cret&q=x")
    assert response.status_code == 200
    assert "counts" in response.json()


def test_a_bearer_token_works_and_a_wrong_one_does_not(client):
    with running_with(host="0.0.0.0", token="s3cret"):
        assert client.get("/health", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
        assert client.get("/health", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
        assert client.get("/health?token=nope").status_code == 401
