"""In Chromium: no inline script is blocked by the CSP, and a page on another port gets nothing."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from ..factories import write_task
from ..server import DashboardProcess
from ..telemetry.builders import create, row
from .attacker import attacker_page
from .conftest import open_board

# Registered before any page script runs, so every violation is seen.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile);
});
"""


@pytest.fixture
def server(collab, tmp_path):
    db = create(tmp_path / "t.db", "llm", [row(datetime.now(timezone.utc).isoformat(), 1.25)])
    with DashboardProcess("--collab-dir", str(collab), "--telemetry-db", str(db)) as server:
        yield server


def violations(page, console: list[str]) -> list[str]:
    return page.evaluate("window.__violations") + [
        m for m in console if "Content Security Policy" in m
    ]


def test_the_pages_run_under_the_csp_with_htmx_and_the_websocket_working(page, server, collab):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="First", dependencies=["t2"])
    write_task(collab, "inbox/t2.yaml", id="t2", title="Second")
    time.sleep(0.3)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.add_init_script(RECORD_VIOLATIONS)

    open_board(page, server.url)  # the WebSocket opened
    write_task(collab, "inbox/t3.yaml", id="t3", title="Live")
    expect(page.locator('#lane-inbox [data-task-id="t3"]')).to_be_visible()  # ...and works
    page.click('#board [data-task-id="t1"] .card-link')  # htmx loads the modal
    expect(page.locator("#modal-body")).to_contain_text("First")
    assert violations(page, console) == []

    page.goto(server.url + "graph/")
    expect(page.locator("svg").first).to_be_visible()
    page.select_option("#graph-agent", "dev")  # the filters submit without inline handlers
    expect(page).to_have_url(f"{server.url}graph/?agent=dev")
    assert violations(page, console) == []

    page.goto(server.url + "telemetry/telemetry/invocation/")
    expect(page.locator("#result_list")).to_be_visible()
    assert violations(page, console) == []


def test_the_remembered_theme_is_painted_from_a_static_script(page, server):
    open_board(page, server.url)
    page.evaluate("localStorage.setItem('dashboard-theme', 'dark')")
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"


def test_a_page_served_on_another_port_cannot_read_the_board(page, server, collab):
    write_task(collab, "inbox/secret.yaml", id="secret", title="Do not leak")
    body = f"""<!doctype html><script>
      var ws = new WebSocket("ws://127.0.0.1:{server.port}/dashboard");
      ws.onmessage = (e) => {{ document.title = "STOLEN " + e.data.length; }};
      ws.onclose = () => {{ if (!document.title) document.title = "REFUSED"; }};
    </script>""".encode()
    with attacker_page(body) as url:
        page.goto(url)
        expect(page).to_have_title("REFUSED")
        time.sleep(0.5)
        assert page.title() == "REFUSED"
