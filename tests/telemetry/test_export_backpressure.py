"""A client that reads an export slowly holds the server back instead of making it buffer the
whole export (security review finding 8a): a real rundashboard, a socket that reads nothing."""

from __future__ import annotations

import socket
import time

import psutil

from tests.server import DashboardProcess
from tests.telemetry.builders import create, row

EXPORT = "/telemetry/telemetry/invocation/export.json"


def test_a_client_that_does_not_read_does_not_fill_the_servers_memory(tmp_path):
    rows = [row("2026-02-06T10:00:00Z", 0.01, model="m" * 200)] * 100_000  # about 35 MB of JSON
    telemetry_db = create(tmp_path / "t.db", "llm", rows)
    collab = tmp_path / "collab"
    for lane in ("inbox", "assigned", "done"):
        (collab / lane).mkdir(parents=True)
    with DashboardProcess("--collab-dir", str(collab), "--telemetry-db", str(telemetry_db)) as s:
        assert s.proc is not None
        server = psutil.Process(s.proc.pid)
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", s.port))
        client.sendall(f"GET {EXPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert b"200 OK" in client.recv(1024)
        before = server.memory_info().rss
        time.sleep(8)  # the whole export is produced in about 4 s when nothing holds it back
        grown = (server.memory_info().rss - before) / 2**20
        client.close()
        assert grown < 15, f"the server grew by {grown:.0f} MB for a client that reads nothing"
