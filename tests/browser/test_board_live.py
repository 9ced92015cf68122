import hashlib
import os
import time
from pathlib import Path

from playwright.sync_api import expect

from ..factories import move, write_task, write_text
from ..server import DashboardProcess
from .conftest import open_board


def test_moving_a_file_moves_the_card_to_its_new_lane(page, dashboard, collab):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="Ship it")
    time.sleep(0.2)
    open_board(page, dashboard.url)
    expect(page.locator('#lane-assigned [data-agent="dev"] [data-task-id="t1"]')).to_be_visible()
    move(collab, "assigned/dev/t1.yaml", "done/dev/t1.yaml")
    card = page.locator('#lane-done [data-agent="dev"] [data-task-id="t1"]')
    expect(card).to_be_visible(timeout=3000)
    expect(card).to_have_attribute("data-path", "done/dev/t1.yaml")
    expect(page.locator('#lane-assigned [data-task-id="t1"]')).to_have_count(0)
    expect(page.locator("#count-done")).to_have_text("1")
    expect(
        page.locator('#activity-feed [data-event="task.completed"][data-task-id="t1"]')
    ).to_be_visible()


def test_a_new_file_and_a_broken_one_show_up_live(page, dashboard, collab):
    open_board(page, dashboard.url)
    write_task(collab, "inbox/new.yaml", id="new-task", title="Fresh")
    expect(page.locator('#lane-inbox [data-task-id="new-task"]')).to_be_visible()
    expect(page.locator("#problems")).to_be_hidden()
    write_text(collab, "inbox/bad.yaml", "id: [unclosed\n")
    expect(page.locator("#problems")).to_be_visible()
    expect(page.locator("#problems")).to_contain_text("inbox/bad.yaml")
    expect(
        page.locator('#activity-feed [data-event="task.created"][data-task-id="new-task"]')
    ).to_have_count(1)


def test_a_title_holding_html_stays_text(page, dashboard, collab):
    write_task(
        collab, "inbox/x.yaml", id="x", title='<img src=x onerror="window.pwned=1"><b>bold</b>'
    )
    time.sleep(0.2)
    open_board(page, dashboard.url)
    card = page.locator('[data-task-id="x"] .card-link')
    expect(card).to_have_text('<img src=x onerror="window.pwned=1"><b>bold</b>')
    write_task(collab, "inbox/y.yaml", id="y", title="<script>window.pwned=2</script>")
    expect(page.locator('[data-task-id="y"] .card-link')).to_have_text(
        "<script>window.pwned=2</script>"
    )
    assert page.evaluate("window.pwned") is None


def test_it_shows_disconnected_then_resyncs_after_a_restart(page, collab, tmp_path):
    write_task(collab, "inbox/a.yaml", id="a", title="A")
    server = DashboardProcess("--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db"))
    server.start()
    try:
        open_board(page, server.url)
        expect(page.locator("#connection-status")).to_contain_text("Connected")
        server.stop()
        expect(page.locator("#connection-status")).to_contain_text("Disconnected", timeout=5000)
        # Changes while the server is away must show after it is back.
        move(collab, "inbox/a.yaml", "done/dev/a.yaml")
        write_task(collab, "inbox/b.yaml", id="b", title="B")
        server = DashboardProcess(
            "--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db"), port=server.port
        )
        server.start()
        expect(page.locator("#connection-status")).to_have_text("Connected", timeout=10_000)
        expect(page.locator('#lane-done [data-task-id="a"]')).to_be_visible()
        expect(page.locator('#lane-inbox [data-task-id="b"]')).to_be_visible()
    finally:
        server.stop()


def test_a_second_tab_shows_the_same_activity_feed(browser, dashboard, collab):
    first = browser.new_page()
    open_board(first, dashboard.url)
    write_task(collab, "inbox/t.yaml", id="t", title="T")
    expect(first.locator('#activity-feed [data-task-id="t"]')).to_be_visible()
    second = browser.new_page()
    open_board(second, dashboard.url)
    expect(
        second.locator('#activity-feed [data-event="task.created"][data-task-id="t"]')
    ).to_be_visible()
    first.close()
    second.close()


def tree_digest(root):
    digest = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            content = b"" if os.path.isdir(path) else Path(path).read_bytes()
            digest[os.path.relpath(path, root)] = (
                hashlib.sha256(content).hexdigest(),
                st.st_mtime_ns,
                st.st_mode,
            )
    return digest


def test_the_watched_tree_is_untouched_by_a_session(page, collab, tmp_path):
    from ..factories import corpus_like_tree

    root = corpus_like_tree(tmp_path / "ws")
    before = tree_digest(root)
    server = DashboardProcess(
        "--collab-dir", str(root), "--telemetry-db", str(tmp_path / "t.db")
    ).start()
    try:
        open_board(page, server.url)
        page.goto(server.url + "api/tasks")
        page.goto(server.url + "?q=parsers")
        page.wait_for_selector("body[data-ws=open]")
    finally:
        server.stop()
    assert tree_digest(root) == before


def test_a_burst_of_moves_leaves_the_page_equal_to_the_disk(page, dashboard, collab):
    for i in range(40):
        write_task(collab, f"assigned/dev/t{i}.yaml", id=f"t{i}", title=f"T{i}")
    time.sleep(0.3)
    open_board(page, dashboard.url)
    expect(page.locator("#count-assigned")).to_have_text("40")
    for i in range(40):
        move(collab, f"assigned/dev/t{i}.yaml", f"done/dev/t{i}.yaml")
        time.sleep(0.008)  # about 120 moves a second: several messages per frame
    expect(page.locator("#count-done")).to_have_text("40")
    expect(page.locator("#count-assigned")).to_have_text("0")
    expect(page.locator("#lane-assigned [data-task-id]")).to_have_count(0)
    shown = page.locator('#lane-done [data-agent="dev"] [data-task-id]')
    expect(shown).to_have_count(10)  # the Done lane stays bounded
    ids = shown.evaluate_all("els => els.map(e => e.dataset.taskId)")
    assert set(ids) == {f"t{i}" for i in range(30, 40)}  # the ten most recent


def test_with_a_token_the_page_and_its_socket_work_after_one_visit(page, collab, tmp_path):
    write_task(collab, "inbox/a.yaml", id="a", title="Secret plan")
    args = ("--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db"), "--token", "k3y")
    with DashboardProcess(*args) as server:
        response = page.goto(server.url)
        assert response is not None and response.status == 401
        open_board(page, server.url + "?token=k3y")
        expect(page.locator('#board [data-task-id="a"]')).to_be_visible()
        page.goto(server.url)  # the cookie carries the token from now on
        page.wait_for_selector("body[data-ws=open]")
        write_task(collab, "inbox/b.yaml", id="b", title="Live")
        expect(page.locator('#board [data-task-id="b"]')).to_be_visible()
