"""Dead peers are found by the kernel (TCP keepalive), so WebSocket pings can be rare."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.sync.client import connect

from .server import DashboardProcess

PROC_TCP = Path("/proc/net/tcp")


def timer_of(local_port: int, remote_port: int) -> int | None:
    """The kernel's timer kind for that connection (/proc/net/tcp `tr`: 2 is keepalive)."""
    for line in PROC_TCP.read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, timer = fields[1], fields[2], fields[5]
        if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == (
            remote_port
        ):
            return int(timer.split(":")[0], 16)
    return None


@pytest.mark.skipif(not PROC_TCP.exists(), reason="needs Linux's /proc/net/tcp")
def test_an_open_websocket_has_the_kernels_keepalive_timer(tmp_path):
    with (
        DashboardProcess("--collab-dir", str(tmp_path)) as server,
        connect(
            f"ws://127.0.0.1:{server.port}/dashboard", origin=f"http://127.0.0.1:{server.port}"
        ) as ws,  # type: ignore[arg-type]
    ):
        ws.recv(timeout=5)
        client_port = ws.socket.getsockname()[1]
        assert timer_of(server.port, client_port) == 2
        # The client's own end has no keepalive: the check tells the two apart.
        assert timer_of(client_port, server.port) == 0
