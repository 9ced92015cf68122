"""The board page composes its peers: operations and MCP panels, their problems and feed lines."""

import json
import time
import urllib.request

from .factories import write_task
from .server import DashboardProcess


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_a_bad_events_line_is_listed_under_problems_beside_bad_task_files(tmp_path):
    collab = tmp_path / "collab"
    write_task(collab, "inbox/a.yaml", id="a", title="A task")
    events = tmp_path / "events"
    events.mkdir()
    (events / "run.jsonl").write_text(
        '{"event": "operation.started", "operation_id": "op-1", "task_id": "a"}\n'
        "this is not json\n",
        encoding="utf-8",
    )
    with DashboardProcess(
        "--collab-dir",
        str(collab),
        "--telemetry-db",
        str(tmp_path / "t.db"),
        "--events-dir",
        str(events),
    ) as server:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            problems = get_json(server.url + "api/tasks")["problems"]
            if problems:
                break
            time.sleep(0.2)
        assert [p["path"] for p in problems] == ["run.jsonl:2"]
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
        assert 'id="operations"' in page and 'id="mcp-servers"' in page
        assert 'data-operation-id="op-1"' in page
