"""The one live board of this process, and how new boards reach the WebSocket clients.

The watcher thread calls `publish_board`; the message goes to daphne's own event loop with
`run_coroutine_threadsafe`. (`async_to_sync` from a foreign thread waits for the loop to
wake on a timer: about a second of latency instead of a few milliseconds.)
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Set as AbstractSet
from typing import Any

from channels.layers import get_channel_layer

from .board import Board
from .state import BoardState

log = logging.getLogger(__name__)

BOARD_GROUP = "board"
TELEMETRY_GROUP = "telemetry"
STATE = BoardState()
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
    send_to_group({"type": "board.update", **STATE.batch_message(events)})


def freeze_long_lived_objects() -> None:
    """Take the loaded board out of the garbage collector's sight.

    With 10,000 tasks in memory, each full collection walks millions of objects and stalls
    whichever thread triggered it (a move waited ~4 ms for it). Frozen objects are still
    freed by reference counting when the board drops them.
    """
    gc.collect()
    gc.freeze()


def send_to_group(message: dict[str, Any], group: str = BOARD_GROUP) -> None:
    loop = _loop
    if loop is None or loop.is_closed():
        return  # no server running (tests, shell): nobody to tell
    layer = get_channel_layer()
    if layer is None:
        return
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
    future.add_done_callback(_log_failure)


def _log_failure(future: Any) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("could not send to WebSocket clients: %s", exc)


def set_watcher_mode(mode: str, waiting: str) -> None:
    STATE.note_watcher(mode, waiting)
