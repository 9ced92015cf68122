"""In Chromium, against a real `rundashboard`: a real SDK server from `--mcp-config` is kept
running, stopped and started from the panel, and brought back after it is killed; the demo
shows live operations and its three servers without a console error."""

from __future__ import annotations

import json
import re
import signal
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml
from playwright.sync_api import expect

from ..server import DashboardProcess
from .conftest import open_board

HEALTHY = Path(__file__).resolve().parents[2] / "mcp_servers" / "demo_servers" / "healthy.py"

# Registered before any page script runs, so every violation is seen.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile);
});
"""


@pytest.fixture
def server(collab: Path, tmp_path: Path) -> Iterator[DashboardProcess]:
    config = tmp_path / "mcp_servers.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "health_check_interval_seconds": 2,
                "startup_timeout_seconds": 15,
                "shutdown_timeout_seconds": 3,
                "servers": {
                    "tools": {
                        "command": sys.executable,
                        "args": [str(HEALTHY)],
                        "auto_start": True,
                        "health_check": {"method": "list_tools", "timeout_seconds": 5},
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    args = ["--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db")]
    args += ["--events-dir", str(tmp_path / "events"), "--mcp-config", str(config)]
    with DashboardProcess(*args) as server:
        yield server


def mcp_server(server: DashboardProcess, name: str) -> dict:
    with urllib.request.urlopen(server.url + "api/mcp", timeout=5) as response:
        servers = json.loads(response.read())["servers"]
    return next(s for s in servers if s["name"] == name)


def wait_for_pid(server: DashboardProcess, name: str, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = mcp_server(server, name)["pid"]
        if pid:
            return int(pid)
        time.sleep(0.1)
    raise AssertionError(f"{name} has no pid after {timeout} s: {mcp_server(server, name)}")


def assert_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.1)
    raise AssertionError(f"the MCP server's process {pid} is still running")


def test_a_managed_server_is_stopped_started_and_brought_back_after_a_kill(page, server):
    page.on("dialog", lambda d: d.accept())
    open_board(page, server.url)
    row = page.locator('#mcp-servers [data-mcp-server="tools"]')
    expect(row).to_have_attribute("data-status", "running", timeout=20_000)
    expect(row.locator("td.num").first).to_have_text("3")  # echo, add, now
    expect(page.locator("#mcp-servers .mcp-summary")).to_contain_text("1/1 healthy")
    expect(
        page.locator('#activity-feed [data-event="mcp.server.started"][data-mcp-server="tools"]')
    ).to_have_count(1)
    pid = wait_for_pid(server, "tools")

    # Stop: confirmed, the process is gone, the row offers Start.
    with page.expect_response(lambda r: r.url.endswith("/api/mcp/tools/stop")) as answer:
        row.locator('[data-action="stop"]').click()
    assert answer.value.status == 202
    expect(row).to_have_attribute("data-status", "stopped")
    assert_gone(pid)
    assert mcp_server(server, "tools")["pid"] is None
    expect(
        page.locator('#activity-feed [data-event="mcp.server.stopped"][data-mcp-server="tools"]')
    ).to_have_count(1)
    expect(row.locator('[data-action="stop"]')).to_have_count(0)

    # Start brings it back, as a new process.
    row.locator('[data-action="start"]').click()
    expect(row).to_have_attribute("data-status", "running", timeout=20_000)
    second = wait_for_pid(server, "tools")
    assert second != pid and psutil.pid_exists(second)
    expect(
        page.locator('#activity-feed [data-event="mcp.server.started"][data-mcp-server="tools"]')
    ).to_have_count(2)

    # A crash: killed behind the dashboard's back, it shows unhealthy, then runs again.
    psutil.Process(second).send_signal(signal.SIGKILL)
    expect(row).to_have_attribute("data-status", "unhealthy", timeout=5000)
    expect(
        page.locator('#activity-feed [data-event="mcp.server.unhealthy"][data-mcp-server="tools"]')
    ).to_have_count(1)
    expect(row).to_have_attribute("data-status", "running", timeout=20_000)
    third = wait_for_pid(server, "tools")
    assert third not in (pid, second)
    assert mcp_server(server, "tools")["restarts"] >= 1
    expect(
        page.locator('#activity-feed [data-event="mcp.server.started"][data-mcp-server="tools"]')
    ).to_have_count(3)

    # When the dashboard stops, it stops the servers it manages.
    assert server.stop(timeout=10) == 0
    assert_gone(third, timeout=2)


def test_the_mcp_page_keeps_what_the_reader_opened_across_its_refresh(page, server):
    page.goto(server.url + "mcp/")
    section = page.locator('#mcp-detail [data-mcp-detail="tools"]')
    expect(section).to_have_attribute("data-status", "running", timeout=20_000)
    checks = section.locator("details").nth(1)
    expect(checks.locator("summary")).to_contain_text("Checks")
    checks.locator("summary").click()
    expect(checks).to_have_attribute("open", "")
    # The details refresh themselves every 5 s (an htmx swap of #mcp-detail).
    with page.expect_response(lambda r: r.url == server.url + "mcp/", timeout=8000):
        pass
    page.wait_for_timeout(300)  # the swap and settle after the answer
    expect(checks).to_have_attribute("open", "")


def box_of(page, selector: str) -> dict:
    """Where the first element matching `selector` is now, measured in one JS task: pushed
    panels are replaced whole, and a Playwright bounding_box() that lands during the swap
    finds the old element detached (None)."""
    return page.evaluate(
        "s => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {y: r.y, height: r.height}; }",
        selector,
    )


def test_the_demo_shows_running_operations_and_three_mcp_servers_without_errors(page):
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.add_init_script(RECORD_VIOLATIONS)
    page.set_viewport_size({"width": 1440, "height": 900})
    with DashboardProcess("--demo") as server:
        open_board(page, server.url)
        running = page.locator('#operations article[data-status="running"]')
        expect(running.nth(1)).to_be_visible(timeout=30_000)
        for name in ("healthy", "slow", "flaky"):
            expect(page.locator(f'#mcp-servers [data-mcp-server="{name}"]')).to_be_visible()
        expect(page.locator('#mcp-servers [data-mcp-server="healthy"]')).to_have_attribute(
            "data-status", "running", timeout=30_000
        )
        expect(page.locator("#board [data-running]").first).to_be_visible()
        # What runs now is in sight without scrolling: the strip above the lanes, Stop included.
        viewport = page.viewport_size
        strip = box_of(page, "#operations")
        stop_box = box_of(page, '#operations article[data-status="running"] [data-action="stop"]')
        assert strip["y"] < box_of(page, "#lane-inbox")["y"]
        assert stop_box["y"] + stop_box["height"] <= viewport["height"]
        # Who works on what, and what happened: the agents strip and the feed are in view too.
        for hook in ("#agents", "#activity-feed"):
            box = box_of(page, hook)
            assert box["y"] < viewport["height"] and box["height"] > 40, hook
        assert "sk-demo" not in page.content()  # output lines are shown with secrets masked

        # Stop one simulated operation from the board: its worker process ends.
        page.on("dialog", lambda d: d.accept())
        op = running.first
        op_id = op.get_attribute("data-operation-id")
        op.locator('[data-action="stop"]').click()
        ended = page.locator(f'#operations .ops-recent [data-operation-id="{op_id}"]')
        expect(ended).to_have_attribute(
            "data-status", re.compile("^(stopped|interrupted|terminated)$"), timeout=20_000
        )
        expect(
            page.locator(
                f'#activity-feed [data-event="operation.stopped"][data-operation-id="{op_id}"]'
            )
        ).to_have_count(1)
        errors = [m for m in console if m.startswith(("error", "pageerror"))]
        assert errors == []
        assert page.evaluate("window.__violations") == []

        for path in ("operations/", f"operations/{op_id}/", "mcp/"):
            page.goto(server.url + path)
            expect(page.locator("main, body").first).to_be_visible()
            assert page.evaluate("window.__violations") == [], path
        assert [m for m in console if m.startswith(("error", "pageerror"))] == []
