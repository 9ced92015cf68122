"""The page's swapper in Chromium: the four hx-swap-oob forms, a warning for any other, and a
whole state split over several messages."""

from ..factories import write_task
from .conftest import open_board


def push(page, html):
    """Hand the page a message as htmx's ws extension would."""
    page.evaluate(
        """html => document.body.dispatchEvent(new CustomEvent("htmx:wsBeforeMessage",
             {detail: {message: html}, cancelable: true}))""",
        html,
    )


def test_the_page_applies_the_four_forms_and_warns_on_any_other(page, dashboard, collab):
    warnings = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    open_board(page, dashboard.url)
    push(
        page,
        '<div id="feed-empty" hx-swap-oob="delete"></div>'
        '<div hx-swap-oob="afterbegin:#activity-feed"><li id="ev-900">top</li></div>'
        '<div hx-swap-oob="beforeend:#activity-feed"><li id="ev-901">bottom</li></div>'
        '<p id="last-change" hidden data-task-ids="[]" hx-swap-oob="true">x</p>'
        '<div id="counts" hx-swap-oob="innerHTML">wrong</div>',
    )
    page.wait_for_timeout(100)
    feed = page.eval_on_selector_all("#activity-feed > li", "els => els.map(e => e.id)")
    assert feed == ["ev-900", "ev-901"]
    assert page.eval_on_selector("#last-change", "e => e.tagName") == "P"
    assert "wrong" not in page.inner_text("#counts")  # an unknown form is left out
    assert any("unknown hx-swap-oob form" in w and "innerHTML" in w for w in warnings)


def test_a_whole_state_over_the_budget_arrives_in_parts_and_shows_every_group(
    page, collab, tmp_path
):
    from playwright.sync_api import expect

    from ..server import DashboardProcess

    agents = 600  # 1,800 cards of about 1.4 KB: about 2.5 MB, sent as three or more messages
    for agent in range(agents):
        for i in range(3):
            write_task(
                collab, f"assigned/ag-{agent:03}/t{i}.yaml", id=f"a{agent}-{i}", title="x" * 900
            )
    args = ("--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "t.db"))
    server = DashboardProcess(*args).start()
    try:
        open_board(page, server.url)
        server.stop()
        expect(page.locator("#connection-status")).to_contain_text("Disconnected", timeout=5000)
        page.evaluate("document.querySelectorAll('#lane-assigned .group').forEach(g => g.remove())")
        server = DashboardProcess(*args, port=server.port).start()  # a new boot: whole state
        expect(page.locator("#connection-status")).to_have_text("Connected", timeout=20_000)
        expect(page.locator("#lane-assigned .group")).to_have_count(agents, timeout=20_000)
        assert int(page.evaluate("document.body.dataset.wsMessages")) >= 2  # frames may join
        assert page.locator('#lane-assigned [data-task-id="a599-2"]').count() == 1
    finally:
        server.stop()
