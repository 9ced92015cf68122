"""Behind a TLS-terminating proxy (`--proxy-headers`): the browser's origin is https://, and
the exact Origin checks must still let the dashboard's own page in, and only it."""

from __future__ import annotations

import http.client
import re

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .server import DashboardProcess

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    collab = tmp_path_factory.mktemp("collab")
    with DashboardProcess("--collab-dir", str(collab), "--proxy-headers") as server:
        yield server


@pytest.fixture(scope="module")
def direct(tmp_path_factory):
    collab = tmp_path_factory.mktemp("collab")
    with DashboardProcess("--collab-dir", str(collab)) as server:
        yield server


def handshake(server: DashboardProcess, origin: str, **headers: str) -> bool:
    try:
        with connect(
            f"ws://127.0.0.1:{server.port}/dashboard",
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            open_timeout=5,
        ) as ws:
            return "hx-swap-oob" in str(ws.recv(timeout=5))
    except InvalidStatus as exc:
        assert exc.response.status_code == 403
        return False


def test_the_https_page_behind_the_proxy_gets_its_websocket(proxied):
    assert handshake(proxied, f"https://127.0.0.1:{proxied.port}", **FORWARDED)


def test_behind_the_proxy_an_http_origin_no_longer_matches(proxied):
    assert not handshake(proxied, f"http://127.0.0.1:{proxied.port}", **FORWARDED)
    assert not handshake(proxied, f"https://127.0.0.1:{proxied.port + 1}", **FORWARDED)


def test_without_the_flag_the_forwarded_scheme_is_not_believed(direct):
    assert not handshake(direct, f"https://127.0.0.1:{direct.port}", **FORWARDED)
    assert handshake(direct, f"http://127.0.0.1:{direct.port}", **FORWARDED)


def post_stop(server: DashboardProcess, origin: str) -> int:
    """Stop pressed on the https page: the csrftoken cookie from the board, then the POST."""
    host = f"127.0.0.1:{server.port}"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/", headers={**FORWARDED, "Host": host})
    response = conn.getresponse()
    response.read()
    set_cookie = response.getheader("Set-Cookie") or ""
    cookie = re.search(r"csrftoken=([^;]+)", set_cookie)
    assert cookie, "the board set no csrftoken cookie"
    assert "Secure" in set_cookie, "an https page's cookie must be Secure"
    conn.request(
        "POST",
        "/api/operations/no-such-run/stop",
        headers={
            **FORWARDED,
            "Host": host,
            "Origin": origin,
            "Cookie": f"csrftoken={cookie[1]}",
            "X-CSRFToken": cookie[1],
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def test_an_action_from_the_https_page_passes_origin_and_csrf(proxied):
    # 404: every check passed and the operation is simply unknown.
    assert post_stop(proxied, f"https://127.0.0.1:{proxied.port}") == 404


def test_an_action_from_another_origin_is_still_refused_behind_the_proxy(proxied):
    assert post_stop(proxied, f"https://127.0.0.1:{proxied.port + 1}") == 403
    assert post_stop(proxied, f"http://127.0.0.1:{proxied.port}") == 403


def test_the_token_cookie_of_an_https_page_is_secure(tmp_path):
    env = {"DASHBOARD_TOKEN": "proxy-s3cret"}
    with DashboardProcess("--collab-dir", str(tmp_path), "--proxy-headers", env=env) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/?token=proxy-s3cret", headers={**FORWARDED, "Accept": "text/html"})
        response = conn.getresponse()
        response.read()
        cookies = response.getheader("Set-Cookie") or ""
        conn.close()
    assert "dashboard_token=" in cookies and "Secure" in cookies
