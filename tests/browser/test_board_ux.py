"""Issue 11, "readable at a glance", in Chromium: what a watcher sees at 1440x900 and on a phone,
in both themes, against a real server and real files."""

import os
import re
import time

import pytest
from playwright.sync_api import expect

from ..factories import corpus_like_tree, move, write_task
from ..server import DashboardProcess
from .conftest import open_board

DESKTOP = (1440, 900)
PHONE = (390, 844)


@pytest.fixture
def view(browser):
    """A page of a given size and theme."""
    contexts = []

    def make(size=DESKTOP, theme="light", **options):
        context = browser.new_context(
            viewport={"width": size[0], "height": size[1]}, color_scheme=theme, **options
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def corpus_server(tmp_path):
    root = corpus_like_tree(tmp_path / "ws")
    with DashboardProcess("--collab-dir", str(root), "--telemetry-db", str(tmp_path / "t.db")) as s:
        yield s


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_the_activity_feed_is_in_view_on_load(view, corpus_server, size, theme):
    page = open_board(view(size, theme), corpus_server.url)
    feed = page.locator("#activity-feed")
    expect(feed).to_be_in_viewport()
    # After a start the feed is not empty: it holds what the tasks' timestamps record.
    first = page.locator("#activity-feed [data-event][data-history]").first
    expect(first).to_be_in_viewport()
    expect(first.locator("time.clock")).to_have_text(re.compile(r"\d\d:\d\d"))
    if size == PHONE:
        header = page.locator(".topbar").bounding_box()
        assert header and header["height"] <= 80
        expect(page.locator("#filter-agent")).to_be_hidden()  # behind the Filters toggle
        page.click("#filters-toggle")
        expect(page.locator("#filter-agent")).to_be_visible()
        expect(page.locator("#filters-toggle")).to_have_attribute("aria-expanded", "true")
    else:
        expect(page.locator("#lane-inbox")).to_be_in_viewport()
        expect(page.locator("#lane-done")).to_be_in_viewport()
        expect(page.locator("#cost-total")).to_be_in_viewport()


def test_a_moved_card_is_highlighted_and_the_feed_says_from_where(page, dashboard, collab):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="Ship it")
    time.sleep(0.2)
    open_board(page, dashboard.url)
    move(collab, "assigned/dev/t1.yaml", "done/dev/t1.yaml")
    card = page.locator('#lane-done [data-task-id="t1"]')
    expect(card).to_have_class(re.compile(r"\bis-fresh\b"), timeout=3000)
    entry = page.locator('#activity-feed [data-event="task.completed"][data-task-id="t1"]')
    expect(entry).to_contain_text("Assigned → Done")
    expect(entry).to_contain_text("Ship it")
    expect(card).not_to_have_class(re.compile(r"\bis-fresh\b"), timeout=5000)  # a moment only


def test_the_flash_is_not_animated_under_reduced_motion(view, dashboard, collab):
    write_task(collab, "inbox/a.yaml", id="a", title="A")
    page = open_board(view(reduced_motion="reduce"), dashboard.url)
    write_task(collab, "inbox/a.yaml", id="a", title="A again")
    card = page.locator('#board [data-task-id="a"]')
    expect(card).to_have_class(re.compile(r"\bis-fresh\b"))
    assert card.evaluate("e => getComputedStyle(e).animationName") == "none"


def test_ages_and_order_follow_the_task_timestamps_not_the_file_times(page, dashboard, collab):
    write_task(
        collab, "done/dev/old.yaml", id="old", title="Old", completed_at="2026-01-01T10:00:00Z"
    )
    write_task(
        collab, "done/dev/new.yaml", id="new", title="New", completed_at="2026-02-10T12:10:00Z"
    )
    write_task(
        collab, "inbox/i1.yaml", id="i1", title="Filed first", created_at="2026-01-05T00:00:00Z"
    )
    write_task(
        collab, "inbox/i2.yaml", id="i2", title="Filed later", created_at="2026-02-05T00:00:00Z"
    )
    stamp = time.time() - 3600
    for folder, _, files in os.walk(collab):
        for name in files:
            os.utime(os.path.join(folder, name), (stamp, stamp))
    time.sleep(0.3)
    page.goto(dashboard.url)  # a fresh page renders the rescanned files
    page.wait_for_selector("body[data-ws=open]")
    done = page.locator('#lane-done [data-agent="dev"] [data-task-id]')
    assert done.evaluate_all("els => els.map(e => e.dataset.taskId)") == ["new", "old"]
    inbox = page.locator("#lane-inbox [data-task-id]")
    assert inbox.evaluate_all("els => els.map(e => e.dataset.taskId)") == ["i2", "i1"]
    ages = page.locator("#board .card time.age").all_inner_texts()
    assert len(set(ages)) == 4, ages  # not four times "1 h ago"
    age = page.locator('[data-task-id="new"] time.age')
    expect(age).to_have_attribute("title", "completed_at 2026-02-10 12:10:00 UTC")


def test_a_lane_of_a_thousand_cards_scrolls_on_its_own(view, collab, tmp_path):
    for i in range(1000):
        write_task(collab, f"inbox/t{i:04}.yaml", id=f"t{i:04}", title=f"Task {i}")
    args = ("--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db"))
    with DashboardProcess(*args, env={"DASHBOARD_GROUP_LIMIT": "1000"}) as server:
        page = open_board(view(DESKTOP), server.url)
        expect(page.locator("#lane-inbox [data-task-id]")).to_have_count(1000)
        groups = page.locator("#lane-inbox-groups")
        assert groups.evaluate("e => e.scrollHeight > e.clientHeight")
        assert page.evaluate("document.documentElement.scrollHeight") < 1.5 * DESKTOP[1]
        # the lane fits the viewport: its bottom is on screen, and it scrolls by itself
        box = page.locator("#lane-inbox").bounding_box()
        assert box and box["y"] + box["height"] <= DESKTOP[1]
        groups.hover()
        page.mouse.wheel(0, 2000)
        deadline = time.monotonic() + 5
        while groups.evaluate("e => e.scrollTop") < 500 and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert groups.evaluate("e => e.scrollTop") >= 500
        assert page.evaluate("window.scrollY") == 0
        # short lanes stay short: an empty Done lane is not a tall empty panel
        done = page.locator("#lane-done").bounding_box()
        assert done and done["height"] < 200


def test_disconnected_dims_the_board_explains_clicks_and_retries_now(page, collab, tmp_path):
    write_task(collab, "inbox/a.yaml", id="a", title="Alpha")
    args = ("--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db"))
    server = DashboardProcess(*args).start()
    try:
        open_board(page, server.url)
        expect(page.locator("#offline-banner")).to_be_hidden()
        server.stop()
        expect(page.locator("#connection-status")).to_contain_text("Disconnected", timeout=5000)
        expect(page.locator("body")).to_have_class(re.compile(r"\bis-offline\b"))
        opacity = page.locator("#board").evaluate("e => +getComputedStyle(e).opacity")
        assert opacity < 0.8
        banner = page.locator("#offline-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text(re.compile(r"Disconnected since \d\d:\d\d:\d\d"))
        expect(banner).to_contain_text(re.compile(r"as of \d\d:\d\d:\d\d"))
        page.click('[data-task-id="a"] .card-link')
        expect(page.locator("#toast")).to_contain_text(
            re.compile(r"Disconnected — showing the board as of \d\d:\d\d:\d\d")
        )
        expect(page.locator("#modal")).to_be_hidden()
        assert page.url == server.url  # the click did not navigate either
        # Retry now starts an attempt at once, whatever the backoff says
        page.evaluate(
            """window.__attempts = 0;
               document.body.addEventListener('htmx:wsConnecting', () => window.__attempts++)"""
        )
        server = DashboardProcess(*args, port=server.port).start()
        page.click("#retry-now")
        assert page.evaluate("window.__attempts") >= 1
        expect(page.locator("#connection-status")).to_have_text("Connected", timeout=5000)
        expect(banner).to_be_hidden()
        expect(page.locator("body")).not_to_have_class(re.compile(r"\bis-offline\b"))
    finally:
        server.stop()


HIDE = """hidden => {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  Object.defineProperty(document, 'visibilityState',
                        {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_a_tab_coming_back_says_how_many_changes_it_missed(page, dashboard, collab):
    write_task(collab, "assigned/dev/a.yaml", id="a", title="Alpha")
    time.sleep(0.2)
    open_board(page, dashboard.url)
    page.evaluate(HIDE, True)
    move(collab, "assigned/dev/a.yaml", "done/dev/a.yaml")
    expect(page.locator('#activity-feed [data-task-id="a"]')).to_have_count(1)
    write_task(collab, "inbox/b.yaml", id="b", title="Beta")
    expect(page.locator('#activity-feed [data-task-id="b"]')).to_have_count(1)
    assert page.title().startswith("(2) ")
    expect(page.locator('#board [data-task-id="a"]')).to_have_class(re.compile(r"\bis-unseen\b"))
    page.evaluate(HIDE, False)
    expect(page.locator("#since-banner")).to_have_text(
        re.compile(r"2 changes since you last looked")
    )
    assert not page.title().startswith("(")
    page.click("#since-dismiss")
    expect(page.locator("#since-banner")).to_be_hidden()
    expect(page.locator(".is-unseen")).to_have_count(0)


def test_screen_readers_hear_a_summary_every_few_seconds_not_every_card(page, dashboard, collab):
    for i in range(12):
        write_task(collab, f"assigned/dev/t{i}.yaml", id=f"t{i}", title=f"T{i}")
    time.sleep(0.3)
    open_board(page, dashboard.url)
    expect(page.locator("#activity-feed")).not_to_have_attribute("aria-live", "polite")
    page.evaluate(
        """window.__said = [];
           new MutationObserver(() => window.__said.push(
             document.getElementById('live-summary').textContent))
           .observe(document.getElementById('live-summary'), {childList: true, subtree: true,
                                                             characterData: true})"""
    )
    for i in range(12):
        move(collab, f"assigned/dev/t{i}.yaml", f"done/dev/t{i}.yaml")
        time.sleep(0.1)
    write_task(collab, "inbox/new.yaml", id="new", title="New")
    expect(page.locator("#count-done")).to_have_text("12")
    deadline = time.monotonic() + 8
    while "moved to Done" not in " ".join(page.evaluate("window.__said")):
        assert time.monotonic() < deadline, page.evaluate("window.__said")
        page.wait_for_timeout(100)
    page.wait_for_timeout(5500)
    said = page.evaluate("window.__said")
    assert 1 <= len(said) <= 3, said  # 13 changes over about 1.5 s: not 13 announcements
    text = " ".join(said)
    assert re.search(r"\d+ changes: \d+ moved to Done", text), said
    assert "1 created" in text, said


def test_a_filter_select_waits_for_enter_when_changed_with_the_keyboard(page, dashboard, collab):
    write_task(collab, "inbox/a.yaml", id="a", title="A", priority="high")
    time.sleep(0.2)
    open_board(page, dashboard.url)
    start = page.url
    page.focus("#filter-priority")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(600)
    assert page.url == start  # no reload per arrow key
    expect(page.locator("#filter-priority")).to_be_focused()
    expect(page.locator(".filters button[type=submit]")).to_have_class(re.compile(r"\bpending\b"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"priority=critical"))


def test_the_card_focus_ring_is_whole_and_single(page, corpus_server):
    open_board(page, corpus_server.url)
    page.keyboard.press("j")
    card = page.locator("#board .card:has(.card-link:focus)")
    expect(card).to_have_count(1)
    assert card.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    link_outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert link_outline == "none"  # one ring, on the card
    # the ring (2px, 1px off the card) lies inside the lane's scrolled area: not clipped
    inside = card.evaluate(
        """card => {
          const c = card.getBoundingClientRect();
          const g = card.closest('.groups').getBoundingClientRect();
          return c.left - 3 >= g.left && c.right + 3 <= g.right && c.top - 3 >= g.top;
        }"""
    )
    assert inside


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_board_has_no_serious_accessibility_violations(view, corpus_server, theme):
    from axe_playwright_python.sync_playwright import Axe

    page = open_board(view(DESKTOP, theme), corpus_server.url)
    page.wait_for_timeout(300)
    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, bad
    ran = {r["id"] for r in results.response.get("passes", [])} | {
        v["id"] for v in results.response["violations"]
    }
    assert "color-contrast" in ran  # contrast was checked, not skipped
