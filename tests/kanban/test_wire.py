"""Shared frames written straight to daphne's sockets reach real clients whole and in order."""

from __future__ import annotations

import re
import threading

from ..factories import move, write_task
from ..server import DashboardProcess

MOVES = 8  # Done shows 10 cards per agent: every moved card is in sight


def test_every_client_gets_each_move_whole_whatever_extensions_it_offers(tmp_path):
    from websockets.sync.client import connect

    collab = tmp_path / "collab"
    for i in range(MOVES):
        write_task(collab, f"assigned/dev/t{i:02}.yaml", id=f"t{i:02}", title=f"Task {i}")
    (collab / "done" / "dev").mkdir(parents=True)
    server = DashboardProcess(
        "--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "none.db")
    ).start()
    threading.Thread(target=lambda: list(server.proc.stdout), daemon=True).start()
    url = f"ws://127.0.0.1:{server.port}/dashboard"
    origin = f"http://127.0.0.1:{server.port}"
    try:
        # The websockets client offers permessage-deflate; plain ones offer nothing.
        with (
            connect(url, origin=origin, max_size=None) as offering,
            connect(url, origin=origin, max_size=None, compression=None) as plain,
        ):
            # Frames built once and shared are only valid without a negotiated extension.
            assert offering.response.headers.get("Sec-WebSocket-Extensions") is None
            for ws in (offering, plain):
                assert 'id="board"' in str(ws.recv(timeout=10))
            for i in range(MOVES):
                move(collab, f"assigned/dev/t{i:02}.yaml", f"done/dev/t{i:02}.yaml")
            for ws in (offering, plain):
                seen: list[str] = []
                while len(seen) < MOVES:
                    text = str(ws.recv(timeout=10))
                    found = re.findall(r'data-path="done/dev/(t\d\d)\.yaml"', text)
                    seen += [p for p in found if p not in seen]
                assert sorted(seen) == [f"t{i:02}" for i in range(MOVES)]
    finally:
        server.stop()
