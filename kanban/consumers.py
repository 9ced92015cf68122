from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from . import html, runtime
from .filters import TaskFilter
from .outbox import Outbox
from .wire import transport_unsent, transport_writer

log = logging.getLogger(__name__)


class DashboardConsumer(AsyncWebsocketConsumer):
    """Pushes `hx-swap-oob` fragments: the whole state on connect, then each change.

    Renders nothing of its own: every message comes from `kanban.html`'s shared cache (one
    render per change and filter) or from a panel's owner (one render per change), and
    waits in a bounded `Outbox` until the client's socket has room.

    Changes arrive through `runtime.HUB` (`deliver`, called in one pass over every page),
    not through a channel layer: no layer is configured for "default", so Channels gives
    this consumer no channel and no receive loop of its own.
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every handler: a hop to the one
        # thread that also runs every sync view, per message and per viewer (10,000 hops in a
        # row for 50 moves and 200 viewers; cards arrived seconds late). This consumer never
        # touches the database, so it skips that hop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        params = {k: v[0] for k, v in parse_qs(self.scope["query_string"].decode()).items()}
        self.flt = TaskFilter.from_params(params)
        # The change the page is at: every update message takes it one step further.
        self.heard = runtime.STATE.snapshot().seq
        await self.accept()
        self.outbox = Outbox(
            self._send_text,
            self._whole_state,
            self._close_with,
            transport_unsent(self.base_send),
            transport_writer(self.base_send),
        )
        self._drainer = asyncio.ensure_future(self.outbox.run())
        runtime.HUB.register(self)
        page_seq = _page_seq(params.get("v", ""), runtime.STATE.boot_id)
        if page_seq is None or page_seq > self.heard:
            self.outbox.request_resync()  # another server's page, or none: send everything
        elif page_seq < self.heard:
            # Rendered a few changes ago (a reconnect): those changes are enough, if still kept.
            self.heard = page_seq
            self._catch_up(runtime.STATE.snapshot().seq)

    async def disconnect(self, code: int) -> None:
        runtime.HUB.unregister(self)
        if hasattr(self, "outbox"):
            self.outbox.closed = True
            self._drainer.cancel()

    def deliver(self, message: dict[str, Any]) -> None:
        """One message from `runtime.HUB`, on the loop; quick, never waits."""
        kind = message["type"]
        if kind == "board.update":
            seq = message["seq"]
            if seq <= self.heard or self.outbox.resync_pending:
                return
            if seq < runtime.STATE.seq:
                return  # a newer change is current already; its message follows and covers it
            # The same dict reaches every page in the pass: pages that heard the same change
            # and share a filter (nearly all) find their messages here, not in html's cache.
            views = message.setdefault("views", {})
            key = (self.heard, self.flt)
            if key not in views:
                views[key] = html.update_messages(runtime.STATE, self.heard, seq, self.flt)
            self._take(seq, views[key])
        elif kind == "panel.update":
            packed = message.get("packed")
            if packed is None:
                packed = message["packed"] = html.pack([message["html"]])
            self.outbox.put(packed)
        elif kind == "board.resync":
            self.outbox.request_resync()
        else:
            log.warning("no handler for a %r message", kind)

    def _catch_up(self, seq: int) -> None:
        self._take(seq, html.update_messages(runtime.STATE, self.heard, seq, self.flt))

    def _take(self, seq: int, messages: list[str] | None) -> None:
        if messages is None:
            log.info("a client is further behind than the changes kept; sending it everything")
            self.outbox.request_resync()
            return
        self.heard = seq
        self.outbox.put(messages)

    def _whole_state(self) -> list[str]:
        self.heard, messages = html.full_state_messages(runtime.STATE, self.flt)
        return messages

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def _close_with(self, code: int) -> None:
        await self.close(code=code)


def _page_seq(version: str, boot_id: str) -> int | None:
    """The change a page was rendered at, from its `?v=BOOT-SEQ`; None if not this server's."""
    boot, _, seq = version.partition("-")
    if boot != boot_id or not seq.isdigit():
        return None
    return int(seq)
