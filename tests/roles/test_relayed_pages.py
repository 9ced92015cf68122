"""Pages that read the workspace, served by a web worker and rendered by the watcher.

A real redis-server, a real watcher reading a real SQLite telemetry file, task files, events
and an MCP server, and a real web worker given a collab dir that does not exist. A token is
set, so the watcher's own requests must carry it too.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kanban.roles import protocol as p

from ..factories import write_task
from ..mcp_servers.conftest import FAKE
from ..redis_server import RedisServer
from ..server import DashboardProcess
from ..telemetry import builders
from .test_redis_roles import wait_until

TOKEN = "relayed-pages-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CSRF_SECRET = "b" * 32


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.redis = RedisServer(tmp).start()
        self.env = {"DASHBOARD_REDIS_URL": self.redis.url, "DASHBOARD_TOKEN": TOKEN}
        self.watcher = self.start_watcher()
        self.web = DashboardProcess(
            "--role", "web", "--collab-dir", str(tmp / "no-such-dir"), env=self.env
        ).start()  # fmt: skip
        wait_until(lambda: health_is_ok(self.web), 15, "the web worker in sync")

    def start_watcher(self) -> DashboardProcess:
        mcp = self.tmp / "mcp.json"
        servers = {"fake": {"command": sys.executable, "args": [FAKE, "--tools", "2"]}}
        mcp.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
        args = (
            "--role", "watcher", "--collab-dir", str(self.tmp / "collab"),
            "--telemetry-db", str(self.tmp / "telemetry.db"),
            "--events-dir", str(self.tmp / "events"), "--mcp-config", str(mcp),
        )  # fmt: skip
        return DashboardProcess(*args, env=self.env).start()

    def stop(self) -> None:
        for process in (self.web, self.watcher):
            process.stop()
        self.redis.stop()


def health_is_ok(server: DashboardProcess) -> bool:
    request = urllib.request.Request(server.url + "health", headers=AUTH)
    with urllib.request.urlopen(request, timeout=3) as response:
        return json.loads(response.read())["status"] == "ok"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("relayed")
    write_task(tmp / "collab", "assigned/dev/raw-one.yaml", id="raw-one", title="Raw one")
    (tmp / "collab" / "inbox").mkdir()
    rows = [
        builders.row("2026-03-01T10:00:00Z", 0.5, model="relay-model-a", agent="dev"),
        builders.row("2026-03-01T11:00:00Z", 0.25, model="relay-model-b", agent="ops"),
    ]
    builders.create(tmp / "telemetry.db", "llm", rows)
    (tmp / "events").mkdir()
    cluster = Cluster(tmp)
    yield cluster
    cluster.stop()


def fetch(
    server: DashboardProcess, path: str, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(server.url + path, headers={**AUTH, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_the_telemetry_drill_down_lists_and_shows_rows_from_the_watchers_file(cluster):
    assert not (cluster.tmp / "no-such-dir").exists()
    status, _, page = fetch(cluster.web, "telemetry/telemetry/invocation/")
    assert status == 200
    assert "relay-model-a" in page and "relay-model-b" in page
    detail = re.search(r'href="(/telemetry/telemetry/invocation/\d+/change/[^"]*)"', page)
    assert detail is not None
    status, _, shown = fetch(cluster.web, html.unescape(detail.group(1)).lstrip("/"))
    assert status == 200 and "relay-model-" in shown and "Invocation at 2026-03-01" in shown
    status, _, filtered = fetch(cluster.web, "telemetry/telemetry/invocation/?model=relay-model-b")
    assert status == 200 and "relay-model-b" in filtered
    assert 'href="/telemetry/telemetry/invocation/1/change/' not in filtered  # row a is out
    assert "an export over 4 MiB is refused, narrow the filter" in page
    status, _, models = fetch(cluster.web, "telemetry/models/")
    assert status == 200 and "relay-model-a" in models


def test_hostile_query_values_reach_the_drill_downs_own_validation(cluster):
    status, _, page = fetch(cluster.web, "telemetry/telemetry/invocation/?model__regex=.*")
    assert status == 400 and "Unknown parameter" in page
    status, _, page = fetch(cluster.web, "telemetry/telemetry/invocation/?timestamp__year=99999")
    assert status == 400


def test_exports_are_relayed_as_downloads(cluster):
    status, headers, text = fetch(cluster.web, "telemetry/telemetry/invocation/export.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    assert text.splitlines()[0].startswith("id,") and "relay-model-b" in text
    status, _, stats = fetch(cluster.web, "telemetry/export/stats.json")
    assert status == 200 and json.loads(stats)["invocations"] == 2


def test_a_tasks_raw_yaml_is_the_files_text(cluster):
    status, headers, text = fetch(cluster.web, "tasks/raw-one/?raw=1")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert text == (cluster.tmp / "collab/assigned/dev/raw-one.yaml").read_text()
    status, _, page = fetch(cluster.web, "tasks/raw-one/")  # the page itself: the mirror's
    assert status == 200 and "Open as plain text" in page and "asks the watcher" in page


def post_json(server: DashboardProcess, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_an_operations_page_shows_its_timeline(cluster):
    events = [
        {"event": "operation.started", "operation_id": "op-tl", "agent": "dev", "tool": "t"},
        {"event": "operation.progress", "operation_id": "op-tl", "message": "halfway there"},
        {"event": "operation.completed", "operation_id": "op-tl", "result_summary": "done"},
    ]
    status, body = post_json(cluster.web, "api/events", events)
    assert status == 202, body
    status, _, page = fetch(cluster.web, "operations/op-tl/")
    assert status == 200
    timeline = page[page.index('id="operation-timeline"') :]
    assert 'data-event="operation.progress"' in timeline and "halfway there" in timeline
    # The JSON producers poll for Stop comes from the web worker's mirror: no timeline.
    assert get_json_auth(cluster.web, "api/operations/op-tl")["status"] == "completed"
    status, _, missing = fetch(cluster.web, "operations/no-such-op/")
    assert status == 404


def get_json_auth(server: DashboardProcess, path: str) -> Any:
    status, _, text = fetch(server, path)
    assert status == 200, text
    return json.loads(text)


def test_an_mcp_action_pressed_on_the_relayed_page_is_accepted(cluster):
    wait_until(
        lambda: get_json_auth(cluster.web, "api/mcp")["servers"], 15, "the MCP server listed"
    )
    cookie = {"Cookie": f"csrftoken={CSRF_SECRET}"}
    status, _, page = fetch(cluster.web, "mcp/", cookie)
    assert status == 200 and 'data-action="check"' in page
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert token is not None
    request = urllib.request.Request(
        cluster.web.url + "api/mcp/fake/check",
        method="POST",
        headers={
            **AUTH,
            **cookie,
            "X-CSRFToken": token.group(1),
            "Origin": cluster.web.url.rstrip("/"),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        assert json.loads(response.read())["accepted"] is True
    status, _, part = fetch(cluster.web, "mcp/", {**cookie, "HX-Request": "true"})
    assert status == 200 and part.lstrip().startswith('<div id="mcp-detail"')


def post_action(server: DashboardProcess, path: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(server.url + path, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("path", ["api/mcp/fake/check", "api/operations/no-such-run/stop"])
def test_actions_on_a_web_worker_refuse_each_missing_guard(cluster, path):
    # The page's own request, then the same with one guard taken away each time.
    status, _, page = fetch(cluster.web, "mcp/", {"Cookie": f"csrftoken={CSRF_SECRET}"})
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert status == 200 and token is not None
    good = {
        **AUTH,
        "Cookie": f"csrftoken={CSRF_SECRET}",
        "X-CSRFToken": token.group(1),
        "Origin": cluster.web.url.rstrip("/"),
    }
    assert post_action(cluster.web, path, good) in (202, 404)  # every guard passed
    foreign = {**good, "Origin": f"http://127.0.0.1:{cluster.web.port + 1}"}
    assert post_action(cluster.web, path, foreign) == 403
    no_csrf = {k: v for k, v in good.items() if k != "X-CSRFToken"}
    assert post_action(cluster.web, path, no_csrf) == 403
    no_token = {k: v for k, v in good.items() if k != "Authorization"}
    assert post_action(cluster.web, path, no_token) == 401


def test_a_browser_without_a_csrf_cookie_gets_one_that_matches_the_page(cluster):
    status, headers, page = fetch(cluster.web, "mcp/")
    assert status == 200
    assert re.search(r"csrftoken=[A-Za-z0-9]{32}", headers.get("Set-Cookie", ""))


def test_the_web_worker_relays_only_pages_on_its_list(cluster):
    for path in ("telemetry/telemetry/invocation/add/", "telemetry/autocomplete/", "telemetry/x"):
        status, _, text = fetch(cluster.web, path)
        assert status == 404 and "not a page the watcher relays" in text
    status, headers, _ = fetch(cluster.web, "telemetry/models")
    assert status == 200  # urllib followed the redirect to the slashed page
    request = urllib.request.Request(cluster.web.url + "mcp/", method="PUT", headers=AUTH)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code in (403, 405)


async def _ask_watcher(redis_url: str, message: dict[str, Any]) -> dict[str, Any]:
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[redis_url], prefix="dashboard")
    channel = await layer.new_channel()
    await layer.group_send(p.WATCHER_GROUP, {**message, "id": "x1", "reply_to": channel})
    try:
        return await asyncio.wait_for(layer.receive(channel), 10)
    finally:
        await layer.close_pools()


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/admin/", ""),
        ("GET", "/health", ""),
        ("GET", "/telemetry/../admin/", ""),
        ("GET", "/../../etc/passwd", ""),
        ("GET", "/", ""),
        ("GET", "/tasks/raw-one/", ""),  # the page, not its raw file: served by web workers
        ("POST", "/mcp/", ""),
        ("GET", "mcp/", ""),
    ],
)
def test_the_watcher_refuses_a_crafted_page_request_off_the_list(cluster, method, path, query):
    message = {"type": p.PAGE, "method": method, "path": path, "query": query}
    answer = asyncio.run(_ask_watcher(cluster.redis.url, message))
    assert answer["type"] == p.PAGE_ANSWER and answer["id"] == "x1"
    assert answer["status"] == 404 and b"Refused" in answer["body"]


def test_the_watcher_answers_a_crafted_request_on_the_list(cluster):
    message = {"type": p.PAGE, "method": "GET", "path": "/telemetry/models/", "query": ""}
    answer = asyncio.run(_ask_watcher(cluster.redis.url, message))
    assert answer["status"] == 200 and b"relay-model-a" in answer["body"]


def test_with_the_watcher_gone_a_relayed_page_says_so_in_time(cluster):
    assert cluster.watcher.stop() == 0
    try:
        # Within the timeout (urllib's bound), not a hang
        status, _, page = fetch(cluster.web, "mcp/", timeout=p.PAGE_TIMEOUT_S + 3)
        assert status == 503 and "The watcher did not answer" in page
        assert "rundashboard --role watcher" in page
        status, headers, text = fetch(
            cluster.web, "telemetry/export/stats.json", timeout=p.PAGE_TIMEOUT_S + 3
        )
        assert status == 503 and headers["Content-Type"].startswith("text/plain")
        assert "rundashboard --role watcher" in text and "did not answer within" in text
        assert get_json_auth(cluster.web, "api/operations/op-tl")["status"] == "completed"
        wait_until(lambda: not health_is_ok(cluster.web), 15, "the worker degraded")
        status, _, page = fetch(cluster.web, "telemetry/", timeout=3)  # at once now
        assert status == 503 and "no word from the watcher" in page
    finally:
        cluster.watcher = cluster.start_watcher()
    wait_until(lambda: health_is_ok(cluster.web), 15, "in sync with the new watcher")
    status, _, page = fetch(cluster.web, "telemetry/models/")
    assert status == 200 and "relay-model-a" in page
