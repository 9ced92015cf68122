"""The board over the Redis channel layer, with a real redis-server."""

import shutil
import socket
import subprocess
import time

import pytest
from playwright.sync_api import expect

from ..factories import move, write_task
from ..server import DashboardProcess, free_port
from .conftest import open_board

REDIS = shutil.which("redis-server")


@pytest.fixture
def redis_url(tmp_path):
    if REDIS is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(5)


def test_a_move_reaches_the_page_through_redis(page, collab, tmp_path, redis_url):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="Over Redis")
    time.sleep(0.2)
    args = ("--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db"))
    with DashboardProcess(*args, env={"DASHBOARD_REDIS_URL": redis_url}) as server:
        open_board(page, server.url)
        move(collab, "assigned/dev/t1.yaml", "done/dev/t1.yaml")
        expect(page.locator('#lane-done [data-task-id="t1"]')).to_be_visible(timeout=5000)
        expect(page.locator("#count-done")).to_have_text("1")
