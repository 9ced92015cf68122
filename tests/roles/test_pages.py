"""The allow-list of pages a watcher renders for web workers, and its answers, in process."""

from __future__ import annotations

import asyncio

import pytest

from kanban.roles import pages
from kanban.roles import protocol as p


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/telemetry/", ""),
        ("HEAD", "/telemetry/telemetry/invocation/", "model=x&q=%00"),
        ("GET", "/telemetry/telemetry/invocation/7/change/", ""),
        ("GET", "/telemetry/telemetry/invocation/export.csv", "status=error"),
        ("GET", "/telemetry/export/stats.json", ""),
        ("GET", "/telemetry/days/", "p=2"),
        ("GET", "/mcp/", ""),
        ("GET", "/operations/op-1/", ""),
        ("GET", "/tasks/t-1/", "raw=1&path=assigned/dev/t-1.yaml"),
    ],
)
def test_it_relays_the_pages_that_read_the_workspace(method, path, query):
    assert pages.refusal(method, path, query) == ""


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("POST", "/mcp/", ""),
        ("DELETE", "/telemetry/", ""),
        ("GET", "/", ""),
        ("GET", "/health", ""),
        ("GET", "/admin/", ""),
        ("GET", "/api/tasks", ""),
        ("GET", "/api/operations/op-1", ""),  # polled by producers: the mirror answers it
        ("GET", "/static/dashboard/board.css", ""),
        ("GET", "/tasks/t-1/", ""),  # the page is the mirror's; only its raw file is relayed
        ("GET", "/telemetry/../admin/", ""),
        ("GET", "/telemetry/telemetry/invocation/add/", ""),
        ("GET", "/telemetry/telemetry/invocation/1/delete/", ""),
        ("GET", "/telemetry/telemetry/invocation/1/history/", ""),
        ("GET", "/telemetry/autocomplete/", ""),
        ("GET", "mcp/", ""),
        ("GET", "/mcp/\x00", ""),
        ("GET", "//evil.example/mcp/", ""),
    ],
)
def test_it_refuses_anything_else(method, path, query):
    assert pages.refusal(method, path, query)


def test_only_redirects_that_stay_on_the_site_are_relayed():
    assert pages.local_location("/telemetry/models/")
    for elsewhere in ("//evil.example/", "/\\evil.example", "http://127.0.0.1:8080/x", ""):
        assert not pages.local_location(elsewhere)


def page(path: str, query: str = "", **extra: object) -> dict:
    return {"type": p.PAGE, "method": "GET", "path": path, "query": query, **extra}


def test_the_watcher_renders_a_page_with_the_browsers_csrf_secret():
    secret = "c" * 32
    answer = asyncio.run(pages.render(page("/mcp/", csrf_cookie=secret)))
    assert answer["type"] == p.PAGE_ANSWER and answer["status"] == 200
    assert answer["content_type"].startswith("text/html")
    body = answer["body"].decode()
    assert 'id="mcp-detail"' in body and "X-CSRFToken" in body
    from django.middleware.csrf import _unmask_cipher_token

    token = body.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    assert _unmask_cipher_token(token) == secret


def test_a_malformed_csrf_secret_is_not_passed_on():
    answer = asyncio.run(pages.render(page("/mcp/", csrf_cookie="x; admin=1")))
    assert answer["status"] == 200  # rendered with a secret of its own, never that text


def test_a_page_too_large_to_relay_is_a_502_that_says_to_narrow_the_filter(monkeypatch):
    monkeypatch.setattr(p, "PAGE_MAX_BYTES", 200)
    answer = asyncio.run(pages.render(page("/mcp/")))
    assert answer["status"] == 502
    assert b"too large to relay" in answer["body"] and b"Narrow the filter" in answer["body"]


def test_a_request_missing_its_fields_is_a_400():
    answer = asyncio.run(pages.render({"type": p.PAGE, "path": "/mcp/"}))
    assert answer["status"] == 400
