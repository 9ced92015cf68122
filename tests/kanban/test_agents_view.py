"""The agents page, the board's `#agents` strip, silent agents and budget alerts (issue 11)."""

import re
import time

import pytest
from django.test import Client

from kanban import composition, runtime
from kanban.scanner import Scanner
from kanban.state import BoardState

from ..factories import write_task
from ..telemetry.builders import create, row


def iso_ago(seconds):
    """A moment `seconds` before the (moved) clock of these tests: two hours from now."""
    import datetime as dt

    moment = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2 * 3600 - seconds)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def team(tmp_path, monkeypatch, settings):
    """ann works, bob's work has waited two hours untouched, cid has finished everything."""
    root = tmp_path / "collab"
    write_task(root, "assigned/ann/a.yaml", id="a", title="Write the parser", status="in_progress")
    write_task(root, "assigned/bob/b.yaml", id="b", title="Review", status="assigned")
    write_task(root, "done/cid/c.yaml", id="c", title="Old", completed_at=iso_ago(3 * 86400))
    write_task(root, "done/ann/d.yaml", id="d", title="Done one", completed_at=iso_ago(60))
    later = time.time() + 2 * 3600  # the files' change times are now: move the clock instead
    monkeypatch.setattr(composition, "_clock", lambda: later)
    state = BoardState()
    state.publish_board(Scanner(root).scan())
    monkeypatch.setattr(runtime, "STATE", state)
    settings.DASHBOARD_SILENT_AFTER_MINUTES = 30
    return root


@pytest.fixture
def costs(team, tmp_path, monkeypatch, django_db_blocker):
    from telemetry import db as db_module
    from telemetry import service as service_module
    from telemetry.service import TelemetryService

    def use(rows):
        path = create(tmp_path / "t.db", "llm", rows)
        import datetime as dt

        svc = TelemetryService(  # the same moved clock as the agents'
            clock=lambda: dt.datetime.fromtimestamp(composition._clock(), dt.timezone.utc)
        )
        monkeypatch.setattr(service_module, "service", svc)
        db_module.configure(path, "UTC")
        assert svc.wait_loaded(30)
        return svc

    with django_db_blocker.unblock():
        yield use


@pytest.fixture
def client():
    return Client(HTTP_HOST="127.0.0.1:8080")


def test_the_agents_page_shows_each_agents_state_lanes_and_work(client, team, costs):
    costs([row(iso_ago(30), 1.25, agent="ann")])
    response = client.get("/agents/")
    html = response.content.decode()
    assert response.status_code == 200
    rows = dict(re.findall(r'data-agent="([^"]+)" data-state="([^"]+)"', html))
    assert rows == {"ann": "busy", "bob": "silent", "cid": "idle"}
    ann = re.search(r'<tr id="agent-[0-9a-f]+" class="agent agent-busy".*?</tr>', html, re.S)[0]
    assert "Write the parser" in ann and "$1.25" in ann
    assert 'href="/?agent=ann"' in ann
    assert 'href="/telemetry/telemetry/invocation/?agent=ann"' in ann  # and back
    assert ann.count('class="agent-bar"') == 14  # done per day, last 14 days
    assert "1 tasks finished in 14 days" in ann
    assert "silent 2 h" in html
    assert html.index('data-agent="bob"') < html.index('data-agent="ann"')  # silent first


def test_a_telemetry_call_is_a_sign_of_life(client, team, costs):
    costs([row(iso_ago(60), 0.1, agent="bob")])
    html = client.get("/agents/").content.decode()
    assert 'data-agent="bob" data-state="idle"' in html


def test_unknown_costs_are_a_dash_on_the_page(client, team, tmp_path, monkeypatch):
    from telemetry import service as service_module
    from telemetry.service import TelemetryService

    svc = TelemetryService()
    svc.configure(tmp_path / "missing.db", "UTC", background=False)
    monkeypatch.setattr(service_module, "service", svc)
    html = client.get("/agents/").content.decode()
    assert "$0.00" not in html


def test_the_strip_is_one_pushable_panel_with_dots_counts_and_cost(team, costs):
    costs([row(iso_ago(30), 2.5, agent="ann")])
    html = composition.agents_panel_html()
    assert re.match(r'\s*<section id="agents" [^>]*hx-swap-oob="true"', html)
    assert html.count("<section") == 1
    assert "1 busy · 1 idle · " in html and "1 silent" in html
    ann = re.search(r'<li class="agent agent-busy" data-agent="ann".*?</li>', html, re.S)[0]
    assert "1&thinsp;/&thinsp;1" in ann and "$2.50" in ann and "Write the parser" in ann
    assert 'class="agent-dot"' in ann and '<span class="agent-state">busy</span>' in ann


def test_the_agents_panel_is_registered_for_the_board(team, costs):
    costs([])
    assert "agents" in runtime.panel_names()


def test_an_agent_turning_silent_is_said_once_in_the_feed(team, costs, settings):
    costs([])
    watch = composition.AgentsWatch()
    settings.DASHBOARD_SILENT_AFTER_MINUTES = 240  # nobody is silent yet
    watch.tick()
    assert composition.silent_agents() == frozenset()
    settings.DASHBOARD_SILENT_AFTER_MINUTES = 30
    watch.tick()
    watch.tick()
    assert composition.silent_agents() == {"bob"}
    entries = [e for e in runtime.STATE.feed_entries(0, 10**9) if e.event.kind == "agent.silent"]
    assert len(entries) == 1
    assert dict(entries[0].event.attrs) == {"data-agent": "bob"}
    assert "bob is silent" in entries[0].event.text


def test_agents_already_silent_at_start_are_flagged_but_not_announced(team, costs):
    costs([])
    composition.AgentsWatch().tick()
    assert composition.silent_agents() == {"bob"}
    assert not [e for e in runtime.STATE.feed_entries(0, 10**9) if e.event.kind == "agent.silent"]


def test_a_crossed_budget_is_recorded_once_per_period(team, costs, settings):
    settings.DASHBOARD_BUDGET_DAILY = 1.0
    svc = costs([row(iso_ago(60), 0.85, agent="ann")])
    watch = composition.AgentsWatch()
    watch.tick()
    watch.tick()
    kinds = [e.event.kind for e in runtime.STATE.feed_entries(0, 10**9)]
    assert kinds.count("budget.warning") == 1
    from ..telemetry.builders import insert

    insert(svc.path, "llm", [row(iso_ago(30), 0.5, agent="ann")])
    svc.poll()
    watch.tick()
    watch.tick()
    entries = [e.event for e in runtime.STATE.feed_entries(0, 10**9)]
    exceeded = [e for e in entries if e.kind == "budget.exceeded"]
    assert len(exceeded) == 1
    assert dict(exceeded[0].attrs) == {"data-period": "day", "data-threshold": "100"}
    assert exceeded[0].text.startswith("Daily budget exceeded: 135% used ($1.35 of $1.00).")
