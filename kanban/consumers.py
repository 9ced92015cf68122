from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer

from . import html, runtime
from .filters import TaskFilter
from .runtime import BOARD_GROUP, TELEMETRY_GROUP

log = logging.getLogger(__name__)


class DashboardConsumer(AsyncWebsocketConsumer):
    """Pushes `hx-swap-oob` fragments: the whole state on connect, then each change."""

    groups = [BOARD_GROUP, TELEMETRY_GROUP]

    async def connect(self) -> None:
        # The loop consumers run on is the one the watcher thread must hand messages to.
        runtime.set_loop(asyncio.get_running_loop())
        params = {k: v[0] for k, v in parse_qs(self.scope["query_string"].decode()).items()}
        self.flt = TaskFilter.from_params(params)
        # The last update message accounted for, and the board as the page has it.
        self.heard, self.board = runtime.STATE.current()
        self.pending: set[str] = set()
        self.feed_seen = runtime.STATE.newest_feed_number
        await self.accept()
        # A page rendered from this very state needs nothing; any other (a reconnect after
        # changes, a server restart) gets everything, so it always converges.
        if params.get("v") != f"{runtime.STATE.boot_id}-{self.heard}":
            await self.send(text_data=html.full_state_html(runtime.STATE, self.flt))

    async def board_update(self, message: dict[str, Any]) -> None:
        seq = message["seq"]
        if seq <= self.heard:
            return
        if seq != self.heard + 1:
            log.info("a client missed updates; sending it the whole board")
            await self._resync()
            return
        self.heard = seq
        for event in message["events"]:
            self.pending.add(event["path"])
            if event.get("old_path"):
                self.pending.add(event["old_path"])
        self.pending.update(p["path"] for p in message["problems"])
        current_seq, new = runtime.STATE.current()
        if current_seq != seq:
            return  # a newer board is current already; its message follows and covers this
        text, self.feed_seen = html.update_html(
            runtime.STATE, self.board, new, sorted(self.pending), self.flt, self.feed_seen
        )
        self.board, self.pending = new, set()
        await self.send(text_data=text)

    async def board_resync(self, message: dict[str, Any]) -> None:
        await self._resync()

    async def telemetry_update(self, message: dict[str, Any]) -> None:
        await self.send(text_data=html.telemetry_html())

    async def _resync(self) -> None:
        self.heard, self.board = runtime.STATE.current()
        self.pending = set()
        self.feed_seen = runtime.STATE.newest_feed_number
        await self.send(text_data=html.full_state_html(runtime.STATE, self.flt))
