"""One watcher and two web workers over a real redis-server (CONTRACT section 10).

Real `rundashboard` processes, real WebSocket viewers (the `websockets` library, with the
page's Origin), real files moved on disk, a real producer process stopped from a web worker.
The web workers are given a collab dir that does not exist: they never read task files.
The tests share one cluster and run in order; each leaves it whole for the next.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..factories import move, write_task
from ..redis_server import RedisServer
from ..server import REPO, DashboardProcess

DEGRADED_WITHIN_S = 10.0
RESYNCED_WITHIN_S = 10.0


class Viewer(threading.Thread):
    """A WebSocket client that keeps every message it receives."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.messages: list[str] = []
        self.lock = threading.Lock()
        self.opened = threading.Event()
        self.closed = threading.Event()
        self.stop_flag = threading.Event()

    def run(self) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        url = f"ws://127.0.0.1:{self.port}/dashboard"
        try:
            with connect(url, origin=f"http://127.0.0.1:{self.port}", max_size=None) as ws:
                self.opened.set()
                while not self.stop_flag.is_set():
                    try:
                        text = ws.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    with self.lock:
                        self.messages.append(str(text))
        except (ConnectionClosed, OSError):
            pass
        finally:
            self.opened.set()
            self.closed.set()

    def mark(self) -> int:
        with self.lock:
            return len(self.messages)

    def wait_for(self, pattern: str, after: int = 0, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for text in self.messages[after:]:
                    if re.search(pattern, text):
                        return text
            time.sleep(0.05)
        raise AssertionError(f"port {self.port}: no message matching {pattern!r} in {timeout} s")

    def close(self) -> None:
        self.stop_flag.set()
        self.join(5)


def get_json(url: str, timeout: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what} (last: {last!r})")


def health_is(server: DashboardProcess, status: str) -> Callable[[], Any]:
    def check() -> Any:
        health = get_json(server.url + "health", timeout=2)
        return health if health["status"] == status else None

    return check


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.collab = tmp / "collab"
        self.redis = RedisServer(tmp).start()
        self.env = {"DASHBOARD_REDIS_URL": self.redis.url}
        self.watcher = self.start_watcher()
        self.web_args = (
            "--role", "web", "--collab-dir", str(tmp / "no-such-dir"),
            "--telemetry-db", str(tmp / "nothing.db"),
        )  # fmt: skip
        self.webs = [self.start_web(), self.start_web()]

    def start_watcher(self) -> DashboardProcess:
        args = (
            "--role", "watcher", "--collab-dir", str(self.collab),
            "--telemetry-db", str(self.tmp / "telemetry.db"), "--events-dir", str(self.tmp / "ev"),
            "--mcp-config", str(self.mcp_config()),
        )  # fmt: skip
        return DashboardProcess(*args, env=self.env).start()

    def mcp_config(self) -> Path:
        path = self.tmp / "mcp.json"
        path.write_text('{"mcpServers": {}}', encoding="utf-8")
        return path

    def start_web(self) -> DashboardProcess:
        web = DashboardProcess(*self.web_args, env=self.env).start()
        wait_until(health_is(web, "ok"), RESYNCED_WITHIN_S, "a new web worker in sync")
        return web

    def stop(self) -> None:
        for process in [*self.webs, self.watcher]:
            process.stop()
        self.redis.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("roles")
    collab = tmp / "collab"
    for i in range(12):
        write_task(collab, f"assigned/dev/t{i}.yaml", id=f"t{i}", title=f"Task {i}")
    (collab / "done" / "dev").mkdir(parents=True)
    (collab / "inbox").mkdir()
    cluster = Cluster(tmp)
    yield cluster
    cluster.stop()


@pytest.fixture
def viewers(cluster: Cluster) -> Iterator[list[Viewer]]:
    opened = [Viewer(web.port) for web in cluster.webs]
    for viewer in opened:
        viewer.start()
    for viewer in opened:
        assert viewer.opened.wait(10)
        viewer.wait_for(r'id="board"')  # the whole state on connect
    yield opened
    for viewer in opened:
        viewer.close()


def moved(path: str) -> str:
    return f'data-path="{re.escape(path)}"'


def test_viewers_on_both_web_workers_see_every_move(cluster, viewers):
    assert not (cluster.tmp / "no-such-dir").exists()
    for i in range(5):
        move(cluster.collab, f"assigned/dev/t{i}.yaml", f"done/dev/t{i}.yaml")
        time.sleep(0.05)
    for viewer in viewers:
        for i in range(5):
            viewer.wait_for(moved(f"done/dev/t{i}.yaml"))
    for web in cluster.webs:
        tasks = get_json(web.url + "api/tasks")
        assert tasks["counts"]["done"] == 5
        assert get_json(web.url + "health")["role"] == "web"


def test_a_web_worker_without_the_collab_dir_serves_the_board_and_the_watchers_pages(cluster):
    web = cluster.webs[0]
    page = urllib.request.urlopen(web.url).read().decode()
    assert 'data-task-id="t5"' in page and 'id="operations"' in page
    detail = urllib.request.urlopen(web.url + "tasks/t5/").read().decode()
    assert "asks the watcher" in detail
    raw = urllib.request.urlopen(web.url + "tasks/t5/?raw=1").read().decode()
    assert raw == (cluster.collab / "assigned/dev/t5.yaml").read_text()
    telemetry = urllib.request.urlopen(web.url + "telemetry/").read().decode()
    assert "Invocations, models and days" in telemetry  # the watcher's drill-down
    listing = urllib.request.urlopen(web.url + "telemetry/telemetry/invocation/").read().decode()
    assert "No data yet: there is no telemetry database (telemetry.db)" in listing
    for path in ("api/stats", "api/operations", "api/mcp"):
        assert isinstance(get_json(web.url + path), dict)


def test_the_watcher_serves_only_health(cluster):
    assert get_json(cluster.watcher.url + "health")["role"] == "watcher"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(cluster.watcher.url)
    assert refused.value.code == 404


def test_a_late_web_worker_catches_up_and_a_killed_one_affects_nobody_else(cluster, viewers):
    late = cluster.start_web()
    try:
        assert (
            get_json(late.url + "api/tasks")["counts"]
            == get_json(cluster.webs[0].url + "api/tasks")["counts"]
        )
        late_viewer = Viewer(late.port)
        late_viewer.start()
        late_viewer.wait_for(moved("done/dev/t4.yaml"))  # in the whole state it gets
        late_viewer.close()
    finally:
        assert late.proc is not None
        late.proc.send_signal(signal.SIGKILL)
        late.proc.wait(5)
    marks = [v.mark() for v in viewers]
    move(cluster.collab, "assigned/dev/t5.yaml", "done/dev/t5.yaml")
    for viewer, mark in zip(viewers, marks, strict=True):
        viewer.wait_for(moved("done/dev/t5.yaml"), after=mark)
        assert not viewer.closed.is_set()
    for web in cluster.webs:
        assert get_json(web.url + "health")["status"] == "ok"


PRODUCER = """
import sys, time
from telemetry.operations.producer import operation
with operation(
    tool="t", agent="dev", task_id="t6", operation_id=sys.argv[2], url=sys.argv[1],
    events_dir=sys.argv[3],  # reported over HTTP to a web worker; this copy is nobody's
):
    print("started", flush=True)
    while True:
        time.sleep(0.05)
"""


def csrf_post(web: DashboardProcess, path: str) -> tuple[int, dict[str, Any]]:
    token = "a" * 32
    request = urllib.request.Request(
        web.url + path,
        method="POST",
        headers={
            "Cookie": f"csrftoken={token}",
            "X-CSRFToken": token,
            "Origin": f"http://127.0.0.1:{web.port}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_stop_pressed_on_a_web_worker_stops_a_producer_on_the_watchers_machine(cluster):
    web_a, web_b = cluster.webs
    producer = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, web_b.url, "op-redis", str(cluster.tmp / "own")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert producer.stdout is not None and producer.stdout.readline().strip() == "started"
        wait_until(
            lambda: get_json(web_a.url + "api/operations/op-redis")["status"] == "running",
            10,
            "the producer's operation shown on the other web worker",
        )
        status, body = csrf_post(web_a, "api/operations/op-redis/stop")
        assert status == 202 and body["stop_requested"] is True
        assert producer.wait(8) != 0  # ended by SIGINT, sent on the watcher's machine
        wait_until(
            lambda: (
                get_json(web_b.url + "api/operations/op-redis")["status"]
                in ("interrupted", "stopped", "failed")
            ),
            10,
            "the stop's outcome on every web worker",
        )
        status, body = csrf_post(web_a, "api/mcp/no-such-server/check")
        assert status == 404 and "no MCP server" in body["error"]
    finally:
        producer.kill()
        producer.wait()


def test_a_restarted_watcher_resyncs_every_viewer(cluster, viewers):
    old_boot = get_json(cluster.webs[0].url + "health")["watcher_boot"]
    began = time.monotonic()
    assert cluster.watcher.stop() == 0
    assert time.monotonic() - began < 2.5  # stops within 2 s of SIGTERM
    for web in cluster.webs:
        health = wait_until(health_is(web, "degraded"), DEGRADED_WITHIN_S, "degraded")
        assert health["role"] == "web" and "watcher" in health["reason"]
    for viewer in viewers:
        viewer.wait_for(r'id="connection-status"[^>]*>Degraded')
    status, body = csrf_post(cluster.webs[0], "api/operations/op-redis/stop")
    assert status == 503 and "did not answer" in body["error"]

    marks = [v.mark() for v in viewers]
    move(cluster.collab, "assigned/dev/t6.yaml", "done/dev/t6.yaml")  # while no one watches
    cluster.watcher = cluster.start_watcher()
    for web in cluster.webs:
        wait_until(health_is(web, "ok"), RESYNCED_WITHIN_S, "in sync with the new watcher")
        assert get_json(web.url + "health")["watcher_boot"] != old_boot
    for viewer, mark in zip(viewers, marks, strict=True):
        whole = viewer.wait_for(r'id="board"', after=mark, timeout=RESYNCED_WITHIN_S)
        assert moved("done/dev/t6.yaml").replace("\\", "") in whole
        viewer.wait_for(r'id="connection-status"[^>]*>Connected', after=mark)
    marks = [v.mark() for v in viewers]
    move(cluster.collab, "assigned/dev/t7.yaml", "done/dev/t7.yaml")
    for viewer, mark in zip(viewers, marks, strict=True):
        viewer.wait_for(moved("done/dev/t7.yaml"), after=mark)


def test_a_restarted_redis_is_survived_with_everyone_resynced(cluster, viewers):
    cluster.redis.stop()
    for server in [*cluster.webs, cluster.watcher]:
        health = wait_until(health_is(server, "degraded"), DEGRADED_WITHIN_S, "degraded")
        assert "Redis" in health["reason"]
    for viewer in viewers:
        viewer.wait_for(r'id="connection-status"[^>]*>Degraded · Redis')
    marks = [v.mark() for v in viewers]
    move(cluster.collab, "assigned/dev/t8.yaml", "done/dev/t8.yaml")  # lost on the way
    cluster.redis.start()
    for server in [*cluster.webs, cluster.watcher]:
        wait_until(health_is(server, "ok"), RESYNCED_WITHIN_S, "live again")
    for viewer, mark in zip(viewers, marks, strict=True):
        whole = viewer.wait_for(r'id="board"', after=mark, timeout=RESYNCED_WITHIN_S)
        assert 'data-path="done/dev/t8.yaml"' in whole
    marks = [v.mark() for v in viewers]
    move(cluster.collab, "assigned/dev/t9.yaml", "done/dev/t9.yaml")
    for viewer, mark in zip(viewers, marks, strict=True):
        viewer.wait_for(moved("done/dev/t9.yaml"), after=mark)


def test_each_role_stops_within_two_seconds(cluster):
    for server in [*cluster.webs, cluster.watcher]:
        began = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - began < 2.5
