"""The supervisor with real SDK servers: managed, probed, crashing, changing, stopped."""

import json
import logging
from pathlib import Path

import psutil
import pytest
import yaml

from mcp_servers.client import MARKER_ENV
from mcp_servers.service import MCPService, Snapshot, wait_for

from ..server import free_port
from .conftest import fake_entry

SECRET = "sk-test-0123456789secretvalue"
WAIT = 60.0  # generous: server start-up is ~3 s on a loaded two-core machine


class Running:
    def __init__(self, svc: MCPService, path: Path) -> None:
        self.svc = svc
        self.path = path
        self.feed: list = []
        self.changes = 0

    def until(self, predicate, timeout: float = WAIT) -> Snapshot:
        return wait_for(self.svc, predicate, timeout)

    def server(self, name: str):
        return self.svc.snapshot().server(name)

    def status_is(self, name: str, *statuses: str):
        return lambda snap: snap.server(name) is not None and snap.server(name).status in statuses

    def events(self, event: str, name: str) -> list:
        return [f for f in self.feed if f.event == event and f.server == name]


@pytest.fixture
def start_service(tmp_path):
    started: list[MCPService] = []

    def start(servers: dict, interval: float = 1.0, **globals_: float) -> Running:
        path = tmp_path / "mcp_servers.yaml"
        doc = {
            "health_check_interval_seconds": interval,
            "startup_timeout_seconds": 20,
            "shutdown_timeout_seconds": 5,
            **globals_,
            "servers": servers,
        }
        path.write_text(yaml.safe_dump(doc))
        svc = MCPService()
        running = Running(svc, path)

        def changed() -> None:
            running.changes += 1

        svc.start([path], on_change=changed, on_feed=running.feed.append)
        started.append(svc)
        return running

    yield start
    for svc in started:
        svc.stop()


def test_an_auto_start_server_runs_managed_with_its_pid_memory_and_tools(start_service):
    run = start_service({"ok": fake_entry("--tools", "2", auto_start=True)})
    run.until(lambda s: s.server("ok").status == "running" and s.server("ok").rss_mb is not None)
    view = run.server("ok")
    assert view.managed
    assert [t.name for t in view.tools] == ["tool_000", "tool_001", "slow"]
    proc = psutil.Process(view.pid)
    assert MARKER_ENV in proc.environ()
    assert view.rss_mb > 1
    assert view.uptime_s is not None
    assert run.events("mcp.server.started", "ok")
    assert run.events("mcp.tools.discovered", "ok")[0].text == "3 tools discovered"
    run.until(lambda s: any(c.latency_ms for c in s.server("ok").checks))  # periodic checks run
    assert run.changes > 0


def test_a_crashing_server_shows_unhealthy_and_is_restarted_with_its_history(start_service):
    run = start_service({"flaky": fake_entry("--crash-after", "3", auto_start=True)})
    first = run.until(run.status_is("flaky", "running")).server("flaky")
    run.until(lambda s: s.server("flaky").status in ("unhealthy", "starting"))
    again = run.until(
        lambda s: s.server("flaky").status == "running" and s.server("flaky").restarts >= 1
    ).server("flaky")
    assert again.pid != first.pid
    assert not psutil.pid_exists(first.pid) or psutil.Process(first.pid).status() == "zombie"
    record = again.restart_history[-1]
    assert "exited" in record.reason
    assert record.delay_s <= 10  # the first restart comes within 10 s
    assert "crashing now, token=••••" in again.stderr  # masked
    assert all("abc123secret" not in line for line in again.stderr)
    assert run.events("mcp.server.unhealthy", "flaky")


def test_a_server_that_dies_at_start_is_retried_with_growing_delays(start_service):
    run = start_service({"dies": fake_entry("--exit-at-once", auto_start=True)})
    snap = run.until(lambda s: len(s.server("dies").restart_history) >= 3)
    view = snap.server("dies")
    delays = [r.delay_s for r in reversed(view.restart_history)]
    assert delays[:3] == [1.0, 2.0, 4.0]
    assert view.status in ("unhealthy", "starting")
    assert "exited during initialize" in view.restart_history[0].reason
    assert "cannot open the index" in view.restart_history[0].reason


def test_a_tool_that_appears_later_is_discovered_and_reported(start_service):
    run = start_service({"grows": fake_entry("--add-tool-after", "4", auto_start=True)})
    snap = run.until(lambda s: any(t.name == "late_tool" for t in s.server("grows").tools))
    assert len(snap.server("grows").tools) == 4
    texts = [f.text for f in run.events("mcp.tools.discovered", "grows")]
    assert any("added late_tool" in t for t in texts), texts


def test_stop_start_and_check_from_the_dashboard(start_service):
    run = start_service({"ok": fake_entry(auto_start=True)})
    pid = run.until(run.status_is("ok", "running")).server("ok").pid
    assert run.svc.request("ok", "stop")
    view = run.until(run.status_is("ok", "stopped")).server("ok")
    assert not view.managed and view.pid is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    assert run.events("mcp.server.stopped", "ok")
    assert run.svc.request("ok", "check")  # a stopped server is probed only when asked
    run.until(run.status_is("ok", "available"))
    assert run.svc.request("ok", "start")
    view = run.until(run.status_is("ok", "running")).server("ok")
    assert view.managed and view.pid not in (None, pid)
    assert run.svc.request("ok", "restart")
    run.until(lambda s: s.server("ok").restarts == 1 and s.server("ok").status == "running")
    assert not run.svc.request("nobody", "start")


def test_stopping_the_service_stops_every_managed_server(start_service, tmp_path):
    run = start_service(
        {
            "a": fake_entry(auto_start=True),
            "b": fake_entry(auto_start=True),
            "stuck": fake_entry("--hang", auto_start=True),
        }
    )
    snap = run.until(lambda s: all(s.server(n).status == "running" for n in "ab"))
    pids = [snap.server(n).pid for n in "ab"]
    run.svc.stop()
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    leftovers = [
        p for p in psutil.Process().children() if MARKER_ENV in _environ(p) and p.is_running()
    ]
    assert [p for p in leftovers if p.status() != "zombie"] == []
    assert {f.server for f in run.feed if f.event == "mcp.server.stopped"} >= {"a", "b"}


def _environ(proc: psutil.Process) -> dict:
    try:
        return proc.environ()
    except psutil.Error:
        return {}


def test_unmanaged_servers_are_probed_and_each_gets_its_own_status(start_service):
    url = f"http://127.0.0.1:{free_port()}/mcp"
    run = start_service(
        {
            "works": fake_entry(),
            "missing": {"command": "no-such-mcp-server-xyz"},
            "refused": {"type": "http", "url": url},
        }
    )
    snap = run.until(
        lambda s: (
            s.server("works").status == "available"
            and s.server("missing").status == "broken"
            and s.server("refused").status == "unreachable"
        )
    )
    assert snap.server("missing").error == "command not found: no-such-mcp-server-xyz"
    assert snap.server("refused").error.startswith("cannot connect to")
    assert not snap.server("works").managed and snap.server("works").pid is None


def test_a_server_hanging_in_initialize_does_not_hold_up_the_others(start_service):
    run = start_service(
        {"hangs": fake_entry("--hang"), "works": fake_entry()}, startup_timeout_seconds=10
    )
    snap = run.until(run.status_is("works", "available"))
    assert snap.server("hangs").status == "starting"  # its own check is still waiting
    snap = run.until(run.status_is("hangs", "broken"))
    assert "no answer to initialize within 10 s" in snap.server("hangs").error


def test_a_config_edit_is_picked_up_while_running(start_service):
    run = start_service({"missing": {"command": "no-such-mcp-server-xyz"}})
    run.until(run.status_is("missing", "broken"))
    doc = yaml.safe_load(run.path.read_text())
    doc["servers"] = {"other": {"command": "another-missing-command"}, "bad": {"args": []}}
    run.path.write_text(yaml.safe_dump(doc))
    snap = run.until(lambda s: s.server("missing") is None and s.server("other") is not None)
    assert [p.server for p in snap.problems] == ["bad"]
    run.until(run.status_is("other", "broken"))


def test_a_leaking_server_keeps_running_with_a_memory_note(start_service):
    run = start_service({"leaks": fake_entry("--leak-mb", "40", auto_start=True)})
    snap = run.until(lambda s: "memory grew" in (s.server("leaks").error or ""), timeout=90)
    view = snap.server("leaks")
    assert view.status == "running"
    assert view.rss_mb > 100


def test_env_values_never_reach_the_api_the_panel_or_the_log(start_service, caplog):
    caplog.set_level(logging.DEBUG)
    run = start_service(
        {
            "env": fake_entry(auto_start=True, env={"API_KEY": SECRET}),
            "bad": {"command": "x", "env": {"API_KEY": [SECRET]}},
            "web": {
                "type": "http",
                "url": f"http://127.0.0.1:{free_port()}/mcp",
                "headers": {"Authorization": f"Bearer {SECRET}"},
            },
        }
    )
    snap = run.until(
        lambda s: s.server("env").status == "running" and s.server("web").status == "unreachable"
    )
    assert psutil.Process(snap.server("env").pid).environ()["API_KEY"] == SECRET  # it got it
    everything = json.dumps([v.as_json() for v in snap.servers], default=str)
    everything += repr(snap) + run.svc.panel_html() + caplog.text
    everything += " ".join(f.text for f in run.feed)
    assert SECRET not in everything


def test_the_panel_is_one_out_of_band_element_with_rows_and_buttons(start_service):
    run = start_service(
        {
            "ok": fake_entry(auto_start=True),
            "web": {"type": "http", "url": f"http://127.0.0.1:{free_port()}/mcp"},
            "idle": {"command": "no-such-mcp-server-xyz"},
        }
    )
    run.until(lambda s: s.server("ok").status == "running" and s.server("idle").status == "broken")
    html = run.svc.panel_html()
    assert html.startswith('<section id="mcp-servers"') and html.endswith("</section>")
    assert html.count("<section") == 1
    assert 'hx-swap-oob="true"' in html.split(">", 1)[0]
    assert 'data-mcp-server="ok" data-status="running"' in html
    row = html.split('data-mcp-server="ok"')[1].split("</tr>")[0]
    assert 'data-action="stop"' in row and 'data-action="restart"' in row
    assert 'hx-confirm="Stop ok?' in row
    assert 'data-action="start"' not in row
    idle = html.split('data-mcp-server="idle"')[1].split("</tr>")[0]
    assert 'data-action="start"' in idle and 'data-action="stop"' not in idle
    web = html.split('data-mcp-server="web"')[1].split("</tr>")[0]
    assert "data-action" not in web
    assert "<script" not in html and " onclick" not in html


def test_actions_pressed_in_quick_succession_are_applied_in_order(start_service):
    run = start_service({"ok": fake_entry(auto_start=True)})
    run.until(run.status_is("ok", "running"))
    run.svc.request("ok", "stop")
    run.svc.request("ok", "start")
    view = run.until(lambda s: s.server("ok").managed and s.server("ok").status == "running")
    assert view.server("ok").pid is not None


def test_the_service_starts_again_after_a_stop(start_service):
    run = start_service({"missing": {"command": "no-such-mcp-server-xyz"}})
    run.until(run.status_is("missing", "broken"))
    run.svc.stop()
    assert run.svc.snapshot().servers == ()
    run.svc.start([run.path])
    run.until(run.status_is("missing", "broken"))


def test_a_server_ignoring_stdin_and_sigterm_is_killed_at_the_shutdown_timeout(
    start_service, caplog
):
    caplog.set_level(logging.WARNING, logger="mcp_servers")
    run = start_service(
        {"stubborn": fake_entry("--stubborn", auto_start=True)}, shutdown_timeout_seconds=1
    )
    pid = run.until(run.status_is("stubborn", "running")).server("stubborn").pid
    run.svc.stop()
    assert f"killing pid {pid}, still running at shutdown" in caplog.text
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
