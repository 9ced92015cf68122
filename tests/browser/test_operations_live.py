"""In Chromium, against a real `rundashboard`: operations reported by a real producer process
(the `telemetry.operations.producer` module, writing to the events dir) show live, Stop ends
them, the panel survives a reload and a restart, and a foreign page cannot press Stop."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import expect

from ..factories import write_task
from ..server import REPO, DashboardProcess
from .attacker import attacker_page
from .conftest import open_board

TASK = "2026-03-01T0900-live-op"

# A producer as users write one: the module's context manager, routing, running cost totals.
# argv: events dir ("" for none), operation id, task id, mode (`run`, `ignore-sigint`,
# `complete`), and optionally the dashboard's URL (events POSTed, Stop learnt from the answers).
PRODUCER = """
import signal, sys, time
from telemetry.operations.producer import operation

events_dir, op_id, task_id, mode = sys.argv[1:5]
url = sys.argv[5] if len(sys.argv) > 5 else ""
if mode == "ignore-sigint":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
with operation(tool="claude-code", model="claude-sonnet-4", task_id=task_id, agent="python-pedro",
               operation_id=op_id, events_dir=events_dir, url=url,
               prompt_summary="Write the parser") as op:
    op.routing("claude-sonnet-4", reason="long context code task",
               alternatives=[{"model": "gpt-4o", "score": 0.71, "cost_per_1k": 0.005}])
    steps = 3 if mode == "complete" else 400
    for step in range(1, steps + 1):
        if op.stop_requested:
            break  # a cooperative producer ends itself (it reports `operation.stopped`)
        op.progress(percent=min(99, step), message=f"step {step}", output=[f"line {step}"])
        op.cost(prompt_tokens=1000 * step, completion_tokens=100 * step, cost_usd=0.0125 * step)
        time.sleep(0.25)
"""


@pytest.fixture
def events_dir(tmp_path: Path) -> Path:
    path = tmp_path / "events"
    path.mkdir()
    return path


@pytest.fixture
def board_tree(collab: Path) -> Path:
    write_task(
        collab,
        f"assigned/python-pedro/{TASK}.yaml",
        id=TASK,
        agent="python-pedro",
        status="in_progress",
        title="Live operation target",
    )
    write_task(collab, "inbox/2026-03-01T0901-idle.yaml", id="2026-03-01T0901-idle", title="Idle")
    return collab


def dashboard_args(collab: Path, events_dir: Path, tmp_path: Path) -> list[str]:
    return [
        "--collab-dir",
        str(collab),
        "--telemetry-db",
        str(tmp_path / "t.db"),
        "--events-dir",
        str(events_dir),
    ]


@pytest.fixture
def server(board_tree: Path, events_dir: Path, tmp_path: Path) -> Iterator[DashboardProcess]:
    # Short escalation so the SIGINT-ignoring case ends in seconds (the defaults are 10 s / 5 s).
    env = {"DASHBOARD_STOP_GRACE_SECONDS": "1", "DASHBOARD_STOP_TERM_GRACE_SECONDS": "1"}
    with DashboardProcess(*dashboard_args(board_tree, events_dir, tmp_path), env=env) as server:
        yield server


class Producers:
    """Real producer processes; any still running at the end of a test is killed."""

    def __init__(self, tmp_path: Path) -> None:
        self.script = tmp_path / "producer.py"
        self.script.write_text(PRODUCER, encoding="utf-8")
        self.started: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        events_dir: Path | str,
        op_id: str,
        task_id: str = TASK,
        mode: str = "run",
        url: str = "",
    ) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("DASHBOARD_URL", None)
        proc = subprocess.Popen(
            [sys.executable, str(self.script), str(events_dir), op_id, task_id, mode, url],
            cwd=REPO,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        self.started.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def producers(tmp_path: Path) -> Iterator[Producers]:
    running = Producers(tmp_path)
    yield running
    running.close()


def cost_of(page, op_id: str) -> float:
    text = page.locator(f'#operations article[data-operation-id="{op_id}"] .ops-cost').inner_text()
    return float(re.sub(r"[^0-9.]", "", text))


COST_ABOVE = """([id, least]) => {
  const el = document.querySelector(`#operations article[data-operation-id="${id}"] .ops-cost`);
  return el && parseFloat(el.textContent.replace(/[^0-9.]/g, "")) > least;
}"""


def wait_for_cost_above(page, op_id: str, least: float) -> None:
    page.wait_for_function(COST_ABOVE, arg=[op_id, least])


def api(server: DashboardProcess, path: str) -> dict:
    with urllib.request.urlopen(server.url + path.lstrip("/"), timeout=5) as response:
        return json.loads(response.read())


def card(page, task_id: str = TASK):
    return page.locator(f'#board [data-task-id="{task_id}"][data-path]')


def test_an_operation_from_a_producer_process_shows_live_with_its_routing_and_rising_cost(
    page, server, events_dir, producers
):
    open_board(page, server.url)
    expect(page.locator("#operations")).to_contain_text("No operations running")
    expect(card(page)).not_to_have_attribute("data-running", re.compile(".*"))

    producers.start(events_dir, "op-live-1")
    op = page.locator('#operations article[data-operation-id="op-live-1"]')
    expect(op).to_have_attribute("data-status", "running")
    expect(op).to_have_attribute("data-task-id", TASK)
    expect(op.locator(".ops-agent")).to_have_text("python-pedro")
    expect(op.locator(".ops-routing summary")).to_have_text(
        "Routed to claude-sonnet-4: long context code task"
    )
    expect(op.locator(".ops-alts")).to_contain_text("gpt-4o")
    expect(op.locator(".ops-output")).to_contain_text("line")
    expect(page.locator("#operations-count")).to_have_text("1")

    # The cost is a running total the producer raises every quarter second.
    expect(op.locator(".ops-cost")).not_to_have_text("$0.0000")
    first = cost_of(page, "op-live-1")
    wait_for_cost_above(page, "op-live-1", first)
    assert cost_of(page, "op-live-1") > first

    expect(card(page)).to_have_attribute("data-running", "")
    expect(card(page, "2026-03-01T0901-idle")).not_to_have_attribute(
        "data-running", re.compile(".*")
    )
    started = page.locator(
        '#activity-feed [data-event="operation.started"][data-operation-id="op-live-1"]'
    )
    expect(started).to_have_count(1)
    expect(started).to_have_attribute("data-task-id", TASK)
    # The elapsed time ticks in the page between pushes.
    elapsed = op.locator("time.ops-elapsed")
    before = elapsed.inner_text()
    expect(elapsed).not_to_have_text(before, timeout=3000)


def test_stop_interrupts_the_producer_and_the_board_shows_how_it_ended(
    page, server, events_dir, producers
):
    proc = producers.start(events_dir, "op-stop-1")
    pid = proc.pid
    open_board(page, server.url)
    op = page.locator('#operations article[data-operation-id="op-stop-1"]')
    expect(op).to_have_attribute("data-status", "running")
    expect(card(page)).to_have_attribute("data-running", "")

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    with page.expect_response(lambda r: r.url.endswith("/api/operations/op-stop-1/stop")) as r:
        op.locator('[data-action="stop"]').click()
    assert r.value.status == 202
    assert dialogs and "Stop this operation" in dialogs[0]
    expect(op).to_have_attribute("data-status", "stopping")

    # SIGINT after the cooperative window: the producer's `with` reports it and exits.
    assert proc.wait(timeout=15) != 0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    ended = page.locator('#operations .ops-recent [data-operation-id="op-stop-1"]')
    expect(ended).to_have_attribute("data-status", re.compile("^(stopped|interrupted)$"))
    expect(op).to_have_count(0)
    expect(card(page)).not_to_have_attribute("data-running", re.compile(".*"))
    expect(
        page.locator(
            '#activity-feed [data-event="operation.stopped"][data-operation-id="op-stop-1"]'
        )
    ).to_have_count(1)
    assert api(server, "/api/operations/op-stop-1")["status"] in ("stopped", "interrupted")


def test_a_producer_reporting_over_http_ends_itself_when_stop_is_pressed(page, server, producers):
    proc = producers.start("", "op-http", url=server.url.rstrip("/"))
    open_board(page, server.url)
    op = page.locator('#operations article[data-operation-id="op-http"]')
    expect(op).to_have_attribute("data-status", "running")
    expect(card(page)).to_have_attribute("data-running", "")

    page.on("dialog", lambda d: d.accept())
    op.locator('[data-action="stop"]').click()
    expect(op.locator('[data-action="stop"]')).to_be_disabled()
    # It learns of the stop from its next POST's answer, within the cooperative window.
    assert proc.wait(timeout=10) == 0
    ended = page.locator('#operations .ops-recent [data-operation-id="op-http"]')
    expect(ended).to_have_attribute("data-status", "stopped")
    expect(card(page)).not_to_have_attribute("data-running", re.compile(".*"))
    assert api(server, "/api/operations/op-http")["stop_requested"] is True


def test_stop_terminates_a_producer_that_ignores_sigint(page, server, events_dir, producers):
    proc = producers.start(events_dir, "op-stubborn", mode="ignore-sigint")
    open_board(page, server.url)
    op = page.locator('#operations article[data-operation-id="op-stubborn"]')
    expect(op).to_have_attribute("data-status", "running")

    page.on("dialog", lambda d: d.accept())
    op.locator('[data-action="stop"]').click()
    expect(op).to_have_attribute("data-status", "stopping")
    # 2 s cooperative window, SIGINT ignored for DASHBOARD_STOP_GRACE_SECONDS=1, then SIGTERM.
    assert proc.wait(timeout=8) == -15  # with the default 10 s grace this would not hold
    ended = page.locator('#operations .ops-recent [data-operation-id="op-stubborn"]')
    expect(ended).to_have_attribute("data-status", "terminated")
    expect(card(page)).not_to_have_attribute("data-running", re.compile(".*"))
    expect(
        page.locator(
            '#activity-feed [data-event="operation.stopped"][data-operation-id="op-stubborn"]'
        )
    ).to_contain_text("terminated")


def test_the_panel_survives_a_reload_and_a_restart_of_the_dashboard(
    page, board_tree, events_dir, tmp_path, producers
):
    args = dashboard_args(board_tree, events_dir, tmp_path)
    done = producers.start(events_dir, "op-done", task_id="2026-03-01T0901-idle", mode="complete")
    assert done.wait(timeout=15) == 0
    producers.start(events_dir, "op-long")
    server = DashboardProcess(*args).start()
    try:
        open_board(page, server.url)
        running = page.locator('#operations article[data-operation-id="op-long"]')
        expect(running).to_have_attribute("data-status", "running")
        expect(
            page.locator('#operations .ops-recent [data-operation-id="op-done"]')
        ).to_have_attribute("data-status", "completed")

        page.reload()
        page.wait_for_selector("body[data-ws=open]")
        expect(running).to_have_attribute("data-status", "running")
        expect(running.locator(".ops-routing summary")).to_contain_text("claude-sonnet-4")
        expect(card(page)).to_have_attribute("data-running", "")

        server.stop()
        cost_before = api_cost(events_dir)
        expect(page.locator("#connection-status")).to_contain_text("Disconnected")
        server = DashboardProcess(*args, port=server.port).start()
        # The open page reconnects by itself and gets the whole state: history read back from
        # the events dir, and the producer's later reports still arrive.
        expect(page.locator("#connection-status")).to_have_text("Connected", timeout=10_000)
        expect(running).to_have_attribute("data-status", "running")
        expect(running.locator(".ops-routing summary")).to_contain_text("long context code task")
        expect(
            page.locator('#operations .ops-recent [data-operation-id="op-done"]')
        ).to_have_attribute("data-status", "completed")
        expect(card(page)).to_have_attribute("data-running", "")
        wait_for_cost_above(page, "op-long", cost_before)
    finally:
        server.stop()


def api_cost(events_dir: Path) -> float:
    """The last cost the long producer wrote, read from its file (as the dashboard would)."""
    costs = [
        json.loads(line)["cost_usd"]
        for line in (events_dir / "operations.jsonl").read_text().splitlines()
        if '"operation.cost"' in line and '"op-long"' in line
    ]
    return costs[-1]


def test_a_page_on_another_port_cannot_press_stop(page, server, events_dir, producers):
    proc = producers.start(events_dir, "op-target")
    open_board(page, server.url)  # the victim's browser has the dashboard's csrftoken cookie
    expect(page.locator('#operations article[data-operation-id="op-target"]')).to_have_attribute(
        "data-status", "running"
    )
    stop_url = f"{server.url}api/operations/op-target/stop"
    # Cookies are not per port: the attacker's script can read the csrftoken and put it in a
    # form field (a custom header would need a CORS preflight, which the dashboard never grants).
    body = f"""<!doctype html><body>
      <form id="f" method="post" action="{stop_url}">
        <input type="hidden" name="csrfmiddlewaretoken" id="t"></form>
      <script>
        var m = document.cookie.match(/csrftoken=([^;]+)/);
        document.getElementById("t").value = m ? m[1] : "";
        document.title = m ? "HAS TOKEN" : "NO TOKEN";
        fetch("{stop_url}", {{method: "POST", mode: "no-cors", credentials: "include",
                             body: "csrfmiddlewaretoken=" + (m ? m[1] : "")}})
          .finally(() => document.getElementById("f").submit());
      </script></body>""".encode()
    statuses: list[int] = []
    foreign = page.context.new_page()
    foreign.on("response", lambda r: statuses.append(r.status) if r.url == stop_url else None)
    with attacker_page(body) as url:
        try:
            with foreign.expect_navigation(url=stop_url):
                foreign.goto(url)
            assert statuses == [403, 403]
            # Past the cooperative window a signal would have been sent by now.
            time.sleep(3)
            assert proc.poll() is None
            op = api(server, "/api/operations/op-target")
            assert op["status"] == "running" and op["stop_requested"] is False
            expect(
                page.locator('#operations article[data-operation-id="op-target"]')
            ).to_have_attribute("data-status", "running")
        finally:
            foreign.close()


def wait_for_pushes(page, count: int = 2) -> None:
    """Until `count` more WebSocket messages have been applied (the producer pushes 4 a second)."""
    seen = int(page.evaluate("+document.body.dataset.wsMessages || 0"))
    page.wait_for_function(
        "least => (+document.body.dataset.wsMessages || 0) >= least", arg=seen + count
    )


def test_an_opened_routing_explanation_stays_open_while_the_operation_runs(
    page, server, events_dir, producers
):
    producers.start(events_dir, "op-read")
    open_board(page, server.url)
    op = page.locator('#operations article[data-operation-id="op-read"]')
    expect(op.locator(".ops-routing summary")).to_be_visible()
    op.locator(".ops-routing summary").click()
    expect(op.locator(".ops-routing")).to_have_attribute("open", "")
    first = cost_of(page, "op-read")
    wait_for_cost_above(page, "op-read", first)  # the panel was replaced since
    wait_for_pushes(page)
    expect(op.locator(".ops-routing")).to_have_attribute("open", "")
    expect(op.locator(".ops-alts")).to_be_visible()


def test_the_stop_button_keeps_the_keyboard_focus_while_the_operation_runs(
    page, server, events_dir, producers
):
    proc = producers.start(events_dir, "op-keys")
    open_board(page, server.url)
    stop = page.locator('#operations article[data-operation-id="op-keys"] [data-action="stop"]')
    expect(stop).to_be_visible()
    stop.focus()
    wait_for_pushes(page, 3)
    expect(stop).to_be_focused()
    page.on("dialog", lambda d: d.accept())
    page.keyboard.press("Enter")  # a keyboard user presses Stop after the pushes
    expect(page.locator('#operations [data-operation-id="op-keys"]')).to_have_attribute(
        "data-status", re.compile("^(stopping|stopped|interrupted)$")
    )
    assert proc.wait(timeout=15) != 0


def test_a_card_pushed_in_while_its_operation_runs_is_marked_running(
    page, server, board_tree, events_dir, producers
):
    later = "2026-03-01T0902-later"
    producers.start(events_dir, "op-later", task_id=later)
    open_board(page, server.url)
    expect(page.locator('#operations article[data-operation-id="op-later"]')).to_be_visible()
    write_task(board_tree, f"inbox/{later}.yaml", id=later, title="Created after its operation")
    expect(card(page, later)).to_have_attribute("data-running", "")
    # An edit re-renders the card: the mark stays.
    write_task(board_tree, f"inbox/{later}.yaml", id=later, title="Edited", priority="high")
    expect(card(page, later).locator(".card-link")).to_have_text("Edited")
    expect(card(page, later)).to_have_attribute("data-running", "")
