"""What one WebSocket client has yet to receive, kept bounded whatever the client does.

Twisted buffers whatever a socket cannot take, without limit: a page that stops reading (a
frozen tab, a client on a dead link) would make the server's memory grow with every change.
So messages wait here until the client's socket has room again, and:
- past `max_queued` bytes waiting, the queue is replaced by one resync: the client gets the
  whole state, rendered when it has room again, instead of every change it missed;
- a socket that stays full for `stall_seconds` is closed with 1013 ("try again later"), on
  which htmx's ws extension reconnects and resyncs.

The fast path: under daphne, a message put while nothing waits here and the socket has room
is written at once, synchronously, by the caller (the fan-out's pass over the viewers), with
no task wake-up; everything else goes through the queue and its drainer task, in order.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from autobahn.websocket.protocol import PreparedMessage

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013


def transport_unsent(send: Any) -> Callable[[], int] | None:
    """How many bytes the socket behind an ASGI `send` still holds, if the server is daphne.

    daphne hands each application `partial(server.handle_reply, protocol)`; the protocol's
    Twisted transport keeps what the kernel has not taken yet. None for other servers
    (the test communicator), which then get no backpressure.
    """
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    transport = getattr(protocol, "transport", None)
    if transport is None or not hasattr(transport, "dataBuffer"):
        return None

    def unsent() -> int:
        buffered = len(transport.dataBuffer) - getattr(transport, "offset", 0)
        return int(buffered + getattr(transport, "_tempDataLen", 0))

    return unsent


def transport_writer(send: Any) -> Callable[[str], bool] | None:
    """A synchronous WebSocket text send beside an ASGI `send`, if the server is daphne.

    It does what daphne's `websocket.send` reply does, minus the trip through a coroutine,
    with autobahn's own broadcast helper: a `PreparedMessage` holds the text encoded and
    framed once per distinct message, and every viewer's socket gets those bytes.
    `sendPreparedMessage` frames again per socket if permessage-deflate was negotiated
    (a compressor is per connection), so extensions stay correct. Returns False, writing
    nothing, once the socket is no longer open. None for other servers (the test
    communicator), which then always go through the async `send`.
    """
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    send_prepared = getattr(protocol, "sendPreparedMessage", None)
    open_state = getattr(protocol, "STATE_OPEN", None)
    if protocol is None or send_prepared is None or open_state is None:
        return None

    def write(text: str) -> bool:
        if protocol.state != open_state:
            return False
        send_prepared(prepared(text))
        return True

    return write


@functools.lru_cache(maxsize=64)
def prepared(text: str) -> PreparedMessage:
    """`text` as one unmasked WebSocket text frame, built once for every viewer of it.

    Every viewer of a view holds the same str object: its hash is cached and the lookup
    compares identity first, so a hit costs next to nothing.
    """
    return PreparedMessage(text.encode("utf-8"), False, False, False)


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
