"""The one live state of this process, and how changes reach the WebSocket clients.

Threads (the watcher, the telemetry refresher, other domains' workers) publish here; the
message goes to daphne's own event loop with `call_soon_threadsafe`, where `HUB` hands it to
every connected page in one pass (`kanban.fanout`: no channel layer between them). The
command captures that loop with `set_loop` from daphne's `Server(ready_callable=...)`.

What other domains (costs, live operations, MCP servers) use:

`register_panel(name, render)`
    A panel looks the same for every viewer. `render()` returns complete top-level elements,
    each with a stable `id` and `hx-swap-oob="true"` (see `kanban.html.OOB_FORMS`), and must
    stay well under `kanban.html.MESSAGE_BUDGET` (1 MiB). Register once, at start-up.
`publish_panel(name)`
    Call from any thread after the panel's data changed: renders it once, keeps the HTML,
    and sends that HTML to every connected page (the consumer only forwards it).
`register_panel(name, render, on_page=False)`
    A fragment that is pushed (on change and in the whole state) but not placed in the
    page's panel slot: it replaces an element the page already has (`#connection-status`).
`add_panel_listener(listener)`
    `listener(name, html)` hears every published panel (a watcher relays them to web workers).
`panel_html(name)`, `all_panels_html()`
    The kept HTML (rendered now if never published), for pages and for the whole state a
    (re)connecting page receives.
`add_feed_entry(event, text, *, attrs=None, link="")`
    Call from any thread: puts an entry on top of `#activity-feed` on every page, live and
    on page load. It shares the 50 entries with the board's events. `event` is the name
    tests select on (`operation.started`, `mcp.server.unhealthy`), `attrs` extra `data-*`
    attributes (`{"data-operation-id": "op-1"}`), `link` an optional URL for the text.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import threading
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from .board import Board
from .fanout import Hub
from .state import BoardState, FeedItem

log = logging.getLogger(__name__)

# Kept for callers that name one; every page hears both.
BOARD_GROUP = "board"
PANELS_GROUP = "panels"
STATE = BoardState()
HUB = Hub()
_loop: asyncio.AbstractEventLoop | None = None


def set_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    global _loop
    _loop = loop


def publish_board(
    board: Board, touched: AbstractSet[str] | None = None, previous: Board | None = None
) -> None:
    was_reading = STATE.board.pending_count
    events, changed = STATE.publish_board(board, touched, previous)
    if was_reading and not board.pending_count:
        # Every card is read now: pages filled from half-read cards get the whole board.
        log.info("all %d task files read", board.counts["total"])
        freeze_long_lived_objects()
        send_to_group({"type": "board.resync"})
        return
    if not changed:
        return
    for event in events:
        log.info("%s %s (%s)", event.kind, event.task_id, event.path)
    # Only the number travels: every consumer reads the change itself from STATE.history.
    send_to_group({"type": "board.update", "seq": STATE.seq})
    for listener in board_listeners:
        listener()


# Called (on the watcher thread, so they must be quick) after each change of the board.
board_listeners: list[Callable[[], None]] = []


_ATTR_NAME = re.compile(r"data-[a-z0-9-]{1,40}")


def add_feed_entry(
    event: str, text: str, *, attrs: Mapping[str, str] | None = None, link: str = ""
) -> None:
    """An activity entry from another domain, on every page now and on later page loads."""
    # data-event is the entry's own; anything but data-* could carry script or style.
    bad = [n for n in attrs or {} if not _ATTR_NAME.fullmatch(n) or n == "data-event"]
    if bad:
        raise ValueError(f"feed entry attributes must be data-* names, not {bad}")
    if link and not (link.startswith("/") and not link.startswith("//")):
        raise ValueError(f"feed entry links must be paths on this dashboard, not {link!r}")
    item = FeedItem(event, text, tuple(sorted((attrs or {}).items())), link)
    seq = STATE.add_feed_item(item)
    send_to_group({"type": "board.update", "seq": seq})


def freeze_long_lived_objects() -> None:
    """Take the loaded board out of the garbage collector's sight.

    With 10,000 tasks in memory, each full collection walks millions of objects and stalls
    whichever thread triggered it (a move waited ~4 ms for it). Frozen objects are still
    freed by reference counting when the board drops them.
    """
    gc.collect()
    gc.freeze()


def send_to_group(message: dict[str, Any], group: str = BOARD_GROUP) -> None:
    """Hand `message` to every page this process serves. Safe from any thread."""
    loop = _loop
    if loop is None or loop.is_closed():
        return  # no server running (tests, shell): nobody to tell
    HUB.publish_threadsafe(loop, message)


def set_watcher_mode(mode: str, waiting: str) -> None:
    STATE.note_watcher(mode, waiting)


# --- panels: rendered once per change, the same bytes for every viewer -------------------

_panels: dict[str, Callable[[], str]] = {}
_pushed_only: set[str] = set()
_panel_cache: dict[str, str] = {}
_panel_listeners: list[Callable[[str, str], None]] = []
_panels_lock = threading.Lock()


def register_panel(name: str, render: Callable[[], str], *, on_page: bool = True) -> None:
    with _panels_lock:
        _panels[name] = render
        _panel_cache.pop(name, None)
        if on_page:
            _pushed_only.discard(name)
        else:
            _pushed_only.add(name)


def unregister_panel(name: str) -> None:
    with _panels_lock:
        _panels.pop(name, None)
        _panel_cache.pop(name, None)
        _pushed_only.discard(name)


def add_panel_listener(listener: Callable[[str, str], None]) -> None:
    with _panels_lock:
        _panel_listeners.append(listener)


def remove_panel_listener(listener: Callable[[str, str], None]) -> None:
    with _panels_lock:
        if listener in _panel_listeners:
            _panel_listeners.remove(listener)


def publish_panel(name: str) -> None:
    """Render `name` once and send it to every page. Safe from any thread."""
    html = _render_panel(name)
    if html is None:
        return
    with _panels_lock:
        _panel_cache[name] = html
        listeners = list(_panel_listeners)
    send_to_group({"type": "panel.update", "name": name, "html": html}, PANELS_GROUP)
    for listener in listeners:
        try:
            listener(name, html)
        except Exception:
            log.exception("a panel listener failed for %r", name)


def remember_panel(name: str, html: str) -> None:
    """Keep a panel's HTML that another process published (a web worker fed by Redis)."""
    with _panels_lock:
        _panel_cache[name] = html


def panel_html(name: str) -> str:
    with _panels_lock:
        cached = _panel_cache.get(name)
    if cached is not None:
        return cached
    return _render_panel(name) or ""


def panel_renderer(name: str) -> Callable[[], str] | None:
    with _panels_lock:
        return _panels.get(name)


def panel_names() -> list[str]:
    """The panels the page places, in the order they were registered."""
    with _panels_lock:
        return [n for n in _panels if n not in _pushed_only]


def all_panels_html() -> list[str]:
    """Every registered panel's HTML (pushed-only ones too), in the order registered."""
    with _panels_lock:
        names = list(_panels)
    return [html for name in names if (html := panel_html(name))]


def _render_panel(name: str) -> str | None:
    with _panels_lock:
        render = _panels.get(name)
    if render is None:
        log.warning("no panel named %r", name)
        return None
    try:
        return render()
    except Exception:
        # One broken panel must not take the page or the socket down with it.
        log.exception("panel %r could not be rendered", name)
        return None
