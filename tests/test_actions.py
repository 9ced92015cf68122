"""`@action_view`, the guard every action uses: POST, token, exact Origin, CSRF."""

from __future__ import annotations

import pytest
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from dashboard_project.security import COOKIE, cookie_value

from .action_urls import act, act_async
from .edge import running_with

pytestmark = pytest.mark.urls("tests.action_urls")
HOST = "127.0.0.1:8080"
OWN = "http://127.0.0.1:8080"


@pytest.fixture
def client():
    return Client(HTTP_HOST=HOST, enforce_csrf_checks=True)


def csrf_pair(client: Client) -> str:
    """What the board page gives a browser: the csrftoken cookie; returns the header value."""
    response = client.get("/")
    return response.cookies["csrftoken"].value


@pytest.mark.parametrize("url", ["/test/act", "/test/act-async"])
def test_a_good_request_from_the_page_is_carried_out(client, url):
    token = csrf_pair(client)
    response = client.post(url, HTTP_ORIGIN=OWN, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 202


def test_a_get_is_not_an_action(client):
    assert client.get("/test/act").status_code == 405


def test_a_missing_csrf_token_is_refused(client):
    csrf_pair(client)
    assert client.post("/test/act", HTTP_ORIGIN=OWN).status_code == 403


def test_a_foreign_origin_is_refused_even_with_the_csrf_token(client):
    token = csrf_pair(client)
    for origin in ("http://127.0.0.1:9999", "http://evil.example", "null"):
        response = client.post("/test/act", HTTP_ORIGIN=origin, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 403, origin


def test_beyond_loopback_a_request_without_the_token_is_401(client):
    token = csrf_pair(client)
    with running_with(host="0.0.0.0", token="s3cret"):
        response = client.post("/test/act", HTTP_ORIGIN=OWN, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 401
        client.cookies[COOKIE] = cookie_value("s3cret")
        response = client.post("/test/act", HTTP_ORIGIN=OWN, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 202


# The decorator on its own, with no middleware in front: it must hold by itself.
def bare_post(origin: str | None, with_csrf: bool = True):
    factory = RequestFactory(HTTP_HOST=HOST)
    extra = {"HTTP_ORIGIN": origin} if origin else {}
    request = factory.post("/test/act", **extra)
    if with_csrf:
        token = get_token(factory.get("/"))
        request.COOKIES["csrftoken"] = token
        request.META["HTTP_X_CSRFTOKEN"] = token
    return request


def test_the_decorator_alone_refuses_a_foreign_origin():
    assert act(bare_post("http://127.0.0.1:9999")).status_code == 403


def test_the_decorator_alone_enforces_csrf():
    assert act(bare_post(OWN, with_csrf=False)).status_code == 403
    assert act(bare_post(OWN)).status_code == 202


def test_the_decorator_alone_needs_the_token_beyond_loopback():
    with running_with(host="0.0.0.0", token="s3cret"):
        assert act(bare_post(OWN)).status_code == 401
        request = bare_post(OWN)
        request.META["HTTP_AUTHORIZATION"] = "Bearer s3cret"
        assert act(request).status_code == 202


async def test_the_async_form_refuses_the_same_way():
    assert (await act_async(bare_post("http://evil.example"))).status_code == 403
    assert (await act_async(bare_post(OWN, with_csrf=False))).status_code == 403
    assert (await act_async(bare_post(OWN))).status_code == 202
