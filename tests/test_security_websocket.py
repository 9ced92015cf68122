"""The WebSocket handshake: Host ours, Origin exactly the page's own origin, the token."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from dashboard_project.asgi import application
from dashboard_project.security import COOKIE, cookie_value
from kanban import runtime
from kanban.state import BoardState

from .edge import running_with


@pytest.fixture(autouse=True)
def state(monkeypatch):
    monkeypatch.setattr(runtime, "STATE", BoardState())


async def handshake(origin: str | None, host: str = "127.0.0.1:8080", **extra: str) -> bool:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    ws = WebsocketCommunicator(application, "/dashboard", headers=headers)
    connected, _ = await ws.connect(timeout=5)
    await ws.disconnect()
    return connected


async def test_the_dashboards_own_page_connects():
    assert await handshake("http://127.0.0.1:8080")
    assert await handshake("http://localhost:8080", host="localhost:8080")
    assert await handshake("http://[::1]:8080", host="[::1]:8080")


async def test_a_page_on_another_port_of_the_same_host_is_refused():
    assert not await handshake("http://127.0.0.1:9999")
    assert not await handshake("http://localhost:9999", host="localhost:8080")


@pytest.mark.parametrize(
    "origin",
    [None, "null", "", "http://evil.example", "https://127.0.0.1:8080", "http://127.0.0.1"],
)
async def test_a_missing_null_foreign_or_other_scheme_origin_is_refused(origin):
    assert not await handshake(origin)


async def test_a_foreign_host_is_refused_even_with_a_matching_origin():
    # DNS rebinding: the attacker's name resolves to us, so Origin and Host agree.
    assert not await handshake("http://evil.example:8080", host="evil.example:8080")


async def test_token_mode_on_every_address_refuses_a_foreign_origin_even_with_the_cookie():
    with running_with(host="0.0.0.0", token="s3cret"):
        cookie = f"{COOKIE}={cookie_value('s3cret')}"
        assert not await handshake("http://evil.example", cookie=cookie)
        assert not await handshake("http://127.0.0.1:9999", cookie=cookie)
        assert not await handshake(None, cookie=cookie)
        assert await handshake("http://127.0.0.1:8080", cookie=cookie)


async def test_token_mode_needs_the_token_from_our_own_page_too():
    with running_with(host="0.0.0.0", token="s3cret"):
        assert not await handshake("http://127.0.0.1:8080")
        assert not await handshake("http://127.0.0.1:8080", cookie=f"{COOKIE}=s3cret")
        assert await handshake("http://127.0.0.1:8080", authorization="Bearer s3cret")
