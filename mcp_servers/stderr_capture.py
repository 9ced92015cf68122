"""A pipe for a server's stderr, read on the supervisor's event loop into a masked tail.

`stdio_client` wants a real file for `errlog` (the child inherits its descriptor), so we give
it the write end of an OS pipe and read the other end with asyncio: no thread per server, and
a chatty server can never block on a full pipe.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import IO

from telemetry.masking import mask_secrets

MAX_LINE = 500


class _LineProtocol(asyncio.Protocol):
    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > 64 * 1024:  # a line with no end: show what we have
            lines.append(self._buffer)
            self._buffer = b""
        for line in lines:
            self._emit(line)

    def eof_received(self) -> bool | None:
        if self._buffer:
            self._emit(self._buffer)
            self._buffer = b""
        return None

    def _emit(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not text.strip():
            return
        if len(text) > MAX_LINE:
            text = text[: MAX_LINE - 1] + "…"
        self._sink(mask_secrets(text))


class StderrCapture:
    """`writer` goes to `stdio_client(errlog=...)`; call `spawned()` once the child exists."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink
        read_fd, write_fd = os.pipe()
        self.writer: IO[str] = os.fdopen(write_fd, "w")
        self._reader: IO[bytes] = os.fdopen(read_fd, "rb", buffering=0)
        self._transport: asyncio.ReadTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.connect_read_pipe(
            lambda: _LineProtocol(self._sink), self._reader
        )

    def spawned(self) -> None:
        # The child holds its own copy now; ours would keep the pipe open after it exits.
        if not self.writer.closed:
            self.writer.close()

    async def drain(self, timeout: float = 0.2) -> None:
        """Give lines the child wrote just before exiting a moment to arrive."""
        await asyncio.sleep(0)
        deadline = asyncio.get_running_loop().time() + timeout
        while self._transport is not None and not self._transport.is_closing():
            if asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(0.02)

    def close(self) -> None:
        self.spawned()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        elif not self._reader.closed:
            self._reader.close()
