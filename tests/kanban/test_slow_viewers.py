"""Viewers that never read must not make the server's memory grow (security review, 8b).

A real daphne (`rundashboard`), raw sockets with a 4 KB receive buffer that complete the
WebSocket handshake and then never read, and files moved on disk meanwhile.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import threading
import time

import psutil
import pytest

from ..factories import write_task
from ..server import DashboardProcess

FILES = 300
PHASES = 10
NON_READERS = 30
EVENT_LINE = re.compile(r"kanban\.runtime: task\.(\w+) \S+ \((.+)\)$")


def never_reading_socket(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /dashboard HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://127.0.0.1:{port}\r\n\r\n"
        ).encode()
    )
    assert b" 101 " in sock.recv(200)  # the handshake's answer; nothing is read after it
    return sock


class ReadingViewer(threading.Thread):
    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.paths: set[str] = set()
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        url = f"ws://127.0.0.1:{self.port}/dashboard"
        with connect(url, origin=f"http://127.0.0.1:{self.port}", max_size=None) as ws:
            while not self.stop.is_set():
                try:
                    text = ws.recv(timeout=0.2)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return  # the server stopping
                self.paths.update(re.findall(r'data-path="([^"]+)"', str(text)))
                self.ready.set()


def destination(phase: int, i: int) -> str:
    lane = "assigned" if phase % 2 == 0 else "done"
    return f"{lane}/p{phase}-a{i % 30:02}/t{i:03}.yaml"  # 10 cards a group: all shown


@pytest.fixture
def busy_board(tmp_path):
    collab = tmp_path / "collab"
    for i in range(FILES):
        write_task(collab, f"inbox/t{i:03}.yaml", id=f"t{i:03}", title=f"Task {i} " + "w" * 400)
    # Made beforehand: a file moved into a directory made during a burst is not reported
    # as an event yet (a watcher matter, not this test's).
    for phase in range(PHASES):
        for i in range(30):
            (collab / destination(phase, i)).parent.mkdir(parents=True, exist_ok=True)
    return collab


def test_viewers_that_never_read_do_not_grow_memory_and_readers_get_every_move(
    busy_board, tmp_path
):
    server = DashboardProcess(
        "--collab-dir", str(busy_board), "--telemetry-db", str(tmp_path / "none.db")
    ).start()
    sockets = []
    reader = ReadingViewer(server.port)
    try:
        proc = psutil.Process(server.proc.pid)
        # Thousands of log lines: read them all (a full pipe would block the watcher).
        log: list[str] = []
        threading.Thread(target=lambda: log.extend(server.proc.stdout), daemon=True).start()
        reader.start()
        assert reader.ready.wait(10)
        sockets = [never_reading_socket(server.port) for _ in range(NON_READERS)]
        time.sleep(1)
        rss_before = proc.memory_info().rss
        peak = rss_before
        where = {i: f"inbox/t{i:03}.yaml" for i in range(FILES)}
        for phase in range(PHASES):
            for i in range(FILES):
                target = destination(phase, i)
                os.rename(busy_board / where[i], busy_board / target)
                where[i] = target
            time.sleep(0.5)  # each phase is seen as its own change
            peak = max(peak, proc.memory_info().rss)
        time.sleep(1)
        # Every move the server saw (it logs each event), not each rename: the watcher may
        # miss a file that stayed in one place for half a second (a watcher matter).
        announced = {
            m[2] for line in list(log) if (m := EVENT_LINE.search(line)) and m[1] != "removed"
        }
        assert len(announced) > FILES * PHASES // 2  # the moves did happen
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not announced <= reader.paths:
            time.sleep(0.2)
        peak = max(peak, proc.memory_info().rss)
        missed = announced - reader.paths
        assert not missed, f"{len(missed)} moves never arrived"
        growth_mb = (peak - rss_before) / 2**20
        # Unbounded, each of the 30 holds every message: about 300 MB here.
        assert growth_mb < 80, f"RSS grew by {growth_mb:.0f} MB"
    finally:
        reader.stop.set()
        for sock in sockets:
            sock.close()
        assert server.stop() == 0
