"""Reading pushed WebSocket messages in tests: their top-level fragments, and all of them."""

from __future__ import annotations

from html.parser import HTMLParser

from channels.testing import WebsocketCommunicator

from dashboard_project.asgi import application

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _TopLevel(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.stray_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.found.append((tag, dict(attrs)))
        if tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            self.stray_text += data.strip()


def top_level(message: str) -> list[tuple[str, dict[str, str | None]]]:
    """(tag, attributes) of each top-level element; fails on text or unbalanced markup."""
    parser = _TopLevel()
    parser.feed(message)
    parser.close()
    assert parser.depth == 0, "a fragment is not closed"
    assert not parser.stray_text, f"text outside any fragment: {parser.stray_text[:80]!r}"
    return parser.found


def communicator(path: str = "/dashboard") -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application,
        path,
        headers=[(b"origin", b"http://127.0.0.1:8080"), (b"host", b"127.0.0.1:8080")],
    )


async def receive_all(ws: WebsocketCommunicator, quiet: float = 0.5) -> list[str]:
    """Every message that arrives until the socket has been quiet for `quiet` seconds."""
    messages = [await ws.receive_from(timeout=10)]
    while not await ws.receive_nothing(timeout=quiet):
        messages.append(await ws.receive_from(timeout=10))
    return messages
