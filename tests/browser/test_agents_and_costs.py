"""Issue 11 in a real browser: agents as workers, honest costs, one product (items 4, 6, 7)."""

import datetime as dt
import re
import sqlite3

from playwright.sync_api import expect

from ..factories import write_task
from ..server import DashboardProcess
from ..telemetry.builders import create, row
from .conftest import open_board

DARK_BG = "rgb(13, 17, 23)"  # the board's dark --bg


def now_iso():
    return dt.datetime.now(dt.timezone.utc).isoformat()


def test_the_agents_strip_and_page_flag_a_silent_agent(page, collab, tmp_path):
    write_task(collab, "assigned/ann/a.yaml", id="a", title="Parse it", status="in_progress")
    write_task(collab, "assigned/bob/b.yaml", id="b", title="Review it", status="assigned")
    db = create(tmp_path / "t.db", "llm", [row(now_iso(), 1.5, agent="ann")])
    env = {"DASHBOARD_SILENT_AFTER_MINUTES": "0.15"}  # 9 s
    args = ("--collab-dir", str(collab), "--telemetry-db", str(db))
    with DashboardProcess(*args, env=env) as server:
        open_board(page, server.url)
        strip = page.locator("#agents")
        expect(strip.locator('[data-agent="ann"]')).to_have_attribute("data-state", "busy")
        expect(strip.locator('[data-agent="ann"] .agent-cost')).to_have_text("$1.50")
        bob = strip.locator('[data-agent="bob"]')
        expect(bob).to_have_attribute("data-state", "idle")
        # Nothing changes for bob: within 9 s and a look (every 5 s) he turns silent, live.
        expect(bob).to_have_attribute("data-state", "silent", timeout=25_000)
        expect(bob.locator(".agent-state")).to_contain_text("silent")
        feed = page.locator('#activity-feed [data-event="agent.silent"][data-agent="bob"]')
        expect(feed).to_have_count(1)
        page.goto(server.url + "agents/")
        expect(page.locator('tr[data-agent="bob"]')).to_have_attribute("data-state", "silent")
        expect(page.locator('tr[data-agent="ann"]')).to_contain_text("Parse it")


def big_database(path, rows):
    """A file whose first aggregation takes seconds: rows written by SQLite itself."""
    create(path, "llm", [])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO invocations (invocation_id, timestamp, agent_name, tool_name,"
            " model_name, total_tokens, cost_usd, latency_ms, status)"
            " SELECT 'id-' || i,"
            " strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || (i % 5000) || ' minutes'),"
            " 'agent-' || (i % 7), 'cli', 'model-' || (i % 5), 100, 0.001, i % 900, 'success'"
            " FROM n",
            (rows,),
        )
    conn.close()
    return path


def test_costs_leave_loading_when_the_first_aggregation_ends_without_a_new_row(
    page, collab, tmp_path
):
    db = big_database(tmp_path / "big.db", 1_000_000)
    with DashboardProcess("--collab-dir", str(collab), "--telemetry-db", str(db)) as server:
        page.goto(server.url)
        seen_loading = page.locator("#cost-total").inner_text() == "Loading…"
        page.wait_for_selector("body[data-ws=open]")
        # No row is ever added: only the end of the first aggregation can change the box.
        expect(page.locator("#cost-total")).to_have_text("$1000.00", timeout=90_000)
        expect(page.locator("#cost-today")).to_have_text(re.compile(r"^\$\d"))
    assert seen_loading, "the aggregation ended before the page opened: nothing was tested"


def test_a_missing_database_shows_a_dash_with_the_reason(page, collab, tmp_path):
    args = ("--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "none.db"))
    with DashboardProcess(*args) as server:
        open_board(page, server.url)
        expect(page.locator("#cost-today")).to_have_text("—")
        expect(page.locator("#telemetry-figures")).to_contain_text("Costs unknown")
        page.locator("#telemetry-counted summary").click()
        expect(page.locator("#telemetry-counted")).to_contain_text("no telemetry database")


def test_a_budget_crossed_shows_a_banner_and_a_feed_entry(page, collab, tmp_path):
    db = create(tmp_path / "t.db", "llm", [row(now_iso(), 9.0, agent="ann")])
    env = {"DASHBOARD_BUDGET_DAILY": "10"}
    args = ("--collab-dir", str(collab), "--telemetry-db", str(db))
    with DashboardProcess(*args, env=env) as server:
        open_board(page, server.url)
        expect(page.locator("#telemetry-figures")).to_have_attribute("data-budget", "warning")
        expect(page.locator("#budget-banner")).to_contain_text("Daily budget: 90% used")
        entry = page.locator('#activity-feed [data-event="budget.warning"][data-period="day"]')
        expect(entry).to_have_count(1, timeout=10_000)


def test_the_filter_note_shows_only_while_an_agent_is_filtered(page, collab, tmp_path):
    write_task(collab, "assigned/ann/a.yaml", id="a", title="Parse it")
    db = create(tmp_path / "t.db", "llm", [row(now_iso(), 1.0, agent="ann")])
    args = ("--collab-dir", str(collab), "--telemetry-db", str(db))
    with DashboardProcess(*args) as server:
        open_board(page, server.url)
        expect(page.locator(".tm-filter-note")).to_be_hidden()
        open_board(page, server.url + "?agent=ann")
        expect(page.locator(".tm-filter-note")).to_be_visible()
        expect(page.locator(".tm-filter-note")).to_contain_text("for all agents")


def test_the_drill_down_pages_carry_the_boards_theme(page, collab, tmp_path):
    db = create(tmp_path / "t.db", "llm", [row(now_iso(), 0.5, agent="ann", status="error")])
    args = ("--collab-dir", str(collab), "--telemetry-db", str(db))
    with DashboardProcess(*args) as server:
        page.emulate_media(color_scheme="light")
        open_board(page, server.url)
        page.locator("#theme-toggle").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        for path in ("telemetry/", "telemetry/telemetry/invocation/", "telemetry/days/"):
            page.goto(server.url + path)
            expect(page.locator("html")).to_have_attribute("data-theme", "dark")
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == DARK_BG, path
            expect(page.locator("#theme-toggle")).to_have_count(1)
        expect(page.locator(".tm-status-error")).to_have_count(0)  # the days page
        page.goto(server.url + "telemetry/telemetry/invocation/")
        expect(page.locator(".tm-status-error")).to_have_text("error")
        # One toggle, shared: light here is light on the board too.
        page.locator("#theme-toggle").click()
        page.goto(server.url)
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
