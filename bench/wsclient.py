"""A minimal WebSocket viewer for load benchmarks: cheap enough not to be what is measured.

The `websockets` library does more per received message (frame objects, UTF-8 decoding, its
own tasks), and the client shares the server's two cores: what it spends, the server lacks,
and the latencies it measures grow. Here a viewer
is one `asyncio.Protocol`: a plain handshake, then frames parsed from the bytes (a server's
frames are never masked), the payload searched as bytes, never decoded. It answers pings
(daphne closes a connection that does not) and nothing else. No extensions are offered.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import struct
import time

DONE_PATH = re.compile(rb'data-path="(done/[^"]+)"')
WHOLE_BOARD = b'id="board"'


class Viewer(asyncio.Protocol):
    def __init__(self, host: str, port: int, origin: str, targets: set[bytes]) -> None:
        self.host, self.port, self.origin = host, port, origin
        self.targets = targets
        self.seen: dict[bytes, float] = {}
        self.messages = 0
        self.received = 0  # bytes after the first message
        self.resyncs = 0
        self.largest = 0
        self.closed = ""
        self.connected = asyncio.Event()  # the first message (the whole state) arrived
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._upgraded = False
        self._fragments: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET /dashboard HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: {self.origin}\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self._buf += data
        if not self._upgraded:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self._buf[: self._buf.find(b"\r\n")]:
                self._fail("handshake refused: " + bytes(self._buf[:80]).decode("latin-1"))
                return
            del self._buf[: end + 4]
            self._upgraded = True
        self._frames(now)

    def _frames(self, now: float) -> None:
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if len(buf) - pos < 4:
                    break
                length = struct.unpack_from("!H", buf, pos + 2)[0]
                head = 4
            elif length == 127:
                if len(buf) - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if len(buf) - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            self._frame(b0 & 0x80, b0 & 0x0F, payload, now)
        del buf[:pos]

    def _frame(self, fin: int, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x9:  # ping: pong with the same payload, masked as a client must
            self._send(0xA, payload)
            return
        if opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self._fail(f"closed by the server with {code}")
            return
        if opcode in (0x1, 0x2, 0x0):
            self._fragments.append(payload)
            if fin:
                self._message(b"".join(self._fragments), now)
                self._fragments = []

    def _message(self, data: bytes, now: float) -> None:
        self.messages += 1
        self.largest = max(self.largest, len(data))
        if self.connected.is_set():
            self.received += len(data)
        if self.connected.is_set() and WHOLE_BOARD in data:
            self.resyncs += 1  # the whole state again, after the first
        for path in DONE_PATH.findall(data):
            if path in self.targets and path not in self.seen:
                self.seen[path] = now
        self.connected.set()

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def _fail(self, why: str) -> None:
        if not self.closed:
            self.closed = why[:200]
        self.connected.set()
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = f"connection lost: {exc}" if exc else "connection lost"
        self.connected.set()

    def close(self) -> None:
        if self.transport is not None:
            self.closed = self.closed or "closed by the client"
            self.transport.close()


async def open_viewer(host: str, port: int, origin: str, targets: set[bytes]) -> Viewer:
    loop = asyncio.get_running_loop()
    viewer = Viewer(host, port, origin, targets)
    try:
        await loop.create_connection(lambda: viewer, host, port)
    except OSError as exc:
        viewer._fail(f"{type(exc).__name__}: {exc}")
    return viewer
