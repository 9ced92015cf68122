import time

from playwright.sync_api import expect

from ..factories import corpus_like_tree, write_task
from ..server import DashboardProcess
from .conftest import open_board


def test_filters_live_in_the_url_and_apply_to_live_updates(page, dashboard, collab):
    write_task(collab, "assigned/dev/a.yaml", id="a", agent="dev", title="Alpha")
    write_task(collab, "assigned/ops/b.yaml", id="b", agent="ops", title="Beta")
    time.sleep(0.2)
    open_board(page, dashboard.url + "?agent=dev")
    expect(page.locator('#board [data-task-id="a"]')).to_be_visible()
    expect(page.locator('#board [data-task-id="b"]')).to_have_count(0)
    expect(page.locator("#counts")).to_contain_text("of 2")
    # a new task outside the filter does not appear; one inside it does
    write_task(collab, "inbox/c.yaml", id="c", agent="ops", title="Gamma")
    write_task(collab, "inbox/d.yaml", id="d", agent="dev", title="Delta")
    expect(page.locator('#lane-inbox [data-task-id="d"]')).to_be_visible()
    expect(page.locator('#board [data-task-id="c"]')).to_have_count(0)
    expect(page.locator("#count-total")).to_have_text("2")
    # the filter survives a reload
    page.reload()
    page.wait_for_selector("body[data-ws=open]")
    expect(page.locator("#filter-agent")).to_have_value("dev")
    expect(page.locator('#board [data-task-id="c"]')).to_have_count(0)


def test_search_filters_by_free_text(page, dashboard, collab):
    write_task(collab, "inbox/a.yaml", id="a", title="Parse the profiles")
    write_task(collab, "inbox/b.yaml", id="b", title="Write docs")
    time.sleep(0.2)
    open_board(page, dashboard.url)
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.type("profiles")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=profiles**")
    expect(page.locator('#board [data-task-id="a"]')).to_be_visible()
    expect(page.locator('#board [data-task-id="b"]')).to_have_count(0)


def test_the_theme_toggle_is_remembered_across_reloads(page, dashboard):
    page.emulate_media(color_scheme="light")
    open_board(page, dashboard.url)
    assert page.evaluate("document.documentElement.dataset.theme") is None
    light_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark_bg != light_bg
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == dark_bg


def test_the_theme_follows_the_system_by_default(page, dashboard):
    page.emulate_media(color_scheme="dark")
    open_board(page, dashboard.url)
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != dark


def test_keyboard_moves_between_cards_opens_one_and_escape_closes_it(page, tmp_path):
    root = corpus_like_tree(tmp_path / "ws")
    with DashboardProcess(
        "--collab-dir", str(root), "--telemetry-db", str(tmp_path / "t.db")
    ) as server:
        open_board(page, server.url)
        page.keyboard.press("j")
        first = page.evaluate("document.activeElement.closest('.card').dataset.taskId")
        page.keyboard.press("j")
        second = page.evaluate("document.activeElement.closest('.card').dataset.taskId")
        assert first != second
        page.keyboard.press("k")
        assert page.evaluate("document.activeElement.closest('.card').dataset.taskId") == first
        page.keyboard.press("Enter")
        modal = page.locator("#modal")
        expect(modal).to_be_visible()
        expect(page.locator("#modal-body")).to_contain_text(first)
        page.keyboard.press("Escape")
        expect(modal).to_be_hidden()
        assert page.evaluate("document.activeElement.closest('.card').dataset.taskId") == first
        page.keyboard.press("?")
        expect(page.locator("#keys-help")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#keys-help")).to_be_hidden()


def test_lanes_and_cards_are_announced_to_screen_readers(page, tmp_path):
    root = corpus_like_tree(tmp_path / "ws")
    with DashboardProcess(
        "--collab-dir", str(root), "--telemetry-db", str(tmp_path / "t.db")
    ) as server:
        open_board(page, server.url)
        expect(page.get_by_role("region", name="Assigned")).to_be_visible()
        expect(page.get_by_role("region", name="python-pedro")).to_be_visible()
        expect(page.locator("#board").get_by_role("link", name="Parsers")).to_be_visible()
        expect(page.locator("#connection-status")).to_have_attribute("role", "status")


def test_an_open_task_modal_follows_changes_to_its_file(page, dashboard, collab):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="Before", status="assigned")
    time.sleep(0.2)
    open_board(page, dashboard.url)
    page.click('#board [data-task-id="t1"] .card-link')
    expect(page.locator("#modal")).to_be_visible()
    expect(page.locator("#modal-body")).to_contain_text("Before")
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="After", status="in_progress")
    expect(page.locator("#modal-body")).to_contain_text("After")
    expect(page.locator("#modal")).to_be_visible()
