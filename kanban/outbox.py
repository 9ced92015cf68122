"""What one WebSocket client has yet to receive, kept bounded whatever the client does.

Twisted buffers whatever a socket cannot take, without limit: a page that stops reading (a
frozen tab, a client on a dead link) would make the server's memory grow with every change.
So messages wait here until the client's socket has room again, and:
- past `max_queued` bytes waiting, the queue is replaced by one resync: the client gets the
  whole state, rendered when it has room again, instead of every change it missed;
- a socket that stays full for `stall_seconds` is closed with 1013 ("try again later"), on
  which htmx's ws extension reconnects and resyncs.

The fast path: given `write_now` (under daphne, `kanban.wire.transport_writer`), a message
put while nothing waits here and the socket has room is written at once, synchronously, by
the caller (the fan-out's pass over the viewers), with no task wake-up; everything else goes
through the queue and its drainer task, in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013


class Outbox:
    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        render_resync: Callable[[], list[str]],
        close: Callable[[int], Awaitable[None]],
        unsent: Callable[[], int] | None = None,
        write_now: Callable[[str], bool] | None = None,
        *,
        low_water: int = 256 * 1024,
        max_queued: int = 2 << 20,
        stall_seconds: float = 30.0,
    ) -> None:
        self._send = send
        self._render_resync = render_resync
        self._close = close
        self._unsent = unsent or (lambda: 0)
        self._write_now = write_now
        self._sending = False  # the drainer holds a message it has not finished sending
        self.low_water = low_water
        self.max_queued = max_queued
        self.stall_seconds = stall_seconds
        self._queue: deque[str] = deque()
        self.queued = 0  # characters waiting here
        self.resync_pending = False
        self.resyncs = 0
        self.closed = False
        self._wake = asyncio.Event()

    def put(self, messages: list[str]) -> None:
        if self.closed or self.resync_pending:
            return  # the resync to come covers it
        if self._write_now is not None and not self._queue and not self._sending:
            # Nothing waits before these: write what the socket has room for, now.
            written = 0
            for message in messages:
                if self._unsent() > self.low_water:
                    break
                if not self._write_now(message):
                    return  # closed: the disconnect follows
                written += 1
            if written == len(messages):
                return
            messages = messages[written:]
        for message in messages:
            self._queue.append(message)
            self.queued += len(message)
        if self.queued > self.max_queued:
            self.request_resync()
        self._wake.set()

    def request_resync(self) -> None:
        """Drop what waits; the client gets the whole state when it has room."""
        if not self.resync_pending:
            self.resyncs += 1
        self._queue.clear()
        self.queued = 0
        self.resync_pending = True
        self._wake.set()

    async def run(self) -> None:
        while not self.closed:
            await self._wake.wait()
            self._wake.clear()
            while self._queue or self.resync_pending:
                if not await self._room():
                    log.info("a client has not read for %.0f s; closing it", self.stall_seconds)
                    self.closed = True
                    await self._close(TRY_AGAIN_LATER)
                    return
                if not self._queue:
                    # Rendered only now, from the state as it is now.
                    self.resync_pending = False
                    for message in self._render_resync():
                        self._queue.append(message)
                        self.queued += len(message)
                    continue
                message = self._queue.popleft()
                self.queued -= len(message)
                self._sending = True
                try:
                    await self._send(message)
                finally:
                    self._sending = False

    async def _room(self) -> bool:
        if self._unsent() <= self.low_water:
            return True
        deadline = time.monotonic() + self.stall_seconds
        pause = 0.02
        while time.monotonic() < deadline:
            await asyncio.sleep(pause)
            if self._unsent() <= self.low_water:
                return True
            pause = min(0.25, pause * 2)
        return False
