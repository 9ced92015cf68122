"""The board over the Redis channel layer, with a real redis-server."""

import time

import pytest
from playwright.sync_api import expect

from ..factories import move, write_task
from ..redis_server import RedisServer
from ..server import DashboardProcess
from .conftest import open_board


@pytest.fixture
def redis_url(tmp_path):
    redis = RedisServer(tmp_path).start()
    yield redis.url
    redis.stop()


def test_a_move_reaches_the_page_through_redis(page, collab, tmp_path, redis_url):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="Over Redis")
    time.sleep(0.2)
    args = ("--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db"))
    with DashboardProcess(*args, env={"DASHBOARD_REDIS_URL": redis_url}) as server:
        open_board(page, server.url)
        move(collab, "assigned/dev/t1.yaml", "done/dev/t1.yaml")
        expect(page.locator('#lane-done [data-task-id="t1"]')).to_be_visible(timeout=5000)
        expect(page.locator("#count-done")).to_have_text("1")


def test_a_page_on_a_web_worker_shows_moves_and_a_missing_watcher(
    page, collab, tmp_path, redis_url
):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="Over Redis")
    env = {"DASHBOARD_REDIS_URL": redis_url}
    watcher_args = ("--role", "watcher", "--collab-dir", str(collab))
    web_args = ("--role", "web", "--collab-dir", str(tmp_path / "absent"))
    with (
        DashboardProcess(*watcher_args, env=env) as watcher,
        DashboardProcess(*web_args, env=env) as web,
    ):
        open_board(page, web.url)
        expect(page.locator('#lane-assigned [data-task-id="t1"]')).to_be_visible(timeout=10000)
        move(collab, "assigned/dev/t1.yaml", "done/dev/t1.yaml")
        expect(page.locator('#lane-done [data-task-id="t1"]')).to_be_visible(timeout=5000)
        watcher.stop()
        expect(page.locator("#connection-status")).to_contain_text("Degraded", timeout=10000)
