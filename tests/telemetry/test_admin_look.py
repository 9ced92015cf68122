"""The drill-down in the board's look (issue 11 item 7): Django's admin underneath."""

import re

import pytest

from tests.telemetry.builders import create, row

LIST = "/telemetry/telemetry/invocation/"
PAGES = ("/telemetry/", LIST, "/telemetry/days/", "/telemetry/models/", "/telemetry/agents/")


@pytest.fixture
def llm_db(tmp_path, use_service):
    rows = [
        row("2026-02-06T10:00:07Z", 0.00528, agent="writer", status="success", tokens=2303),
        row("2026-02-06T11:30:42Z", 0.5, agent="reviewer", model="claude", status="error"),
    ]
    return use_service(create(tmp_path / "t.db", "llm", rows), "Europe/Berlin")


@pytest.mark.parametrize("url", PAGES)
def test_every_page_has_the_boards_header_and_one_theme_toggle(web, client, llm_db, url):
    html = client.get(url).content.decode()
    assert '<header id="header" class="topbar tm-topbar">' in html
    assert '<a href="/">Execution Dashboard</a>' in html
    assert html.count('id="theme-toggle"') == 1
    assert "theme-toggle" not in html.replace('id="theme-toggle"', "")  # no admin toggle
    for static in ("dashboard/theme-prepaint.", "telemetry/theme.", "dashboard/dashboard."):
        assert f'"/static/{static}' in html  # the board's theme and colours
    assert '"/static/telemetry/admin.' in html
    assert "admin/js/theme." not in html and "admin/css/dark_mode." not in html
    assert '<a href="/">Board</a>' in html  # the first crumb is the board


def test_the_list_speaks_plainly_and_puts_the_time_first(web, client, llm_db):
    html = client.get(LIST).content.decode()
    assert "Select invocation to view" not in html and "<h1>Invocations</h1>" in html
    assert "Show all" not in html
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', html)
    assert headers[0] == "when" and headers[-1] == "id"
    assert ">2026-02-06 11:00:07<" in html  # to the second, in the dashboard's zone
    assert '<span class="tm-status tm-status-error">error</span>' in html
    assert '<span class="tm-status tm-status-ok">success</span>' in html
    assert ">2,303<" in html and ">$0.005280<" in html


def test_the_stylesheet_right_aligns_numbers_and_maps_admin_colours_to_the_boards():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static/telemetry/admin.css").read_text()
    assert "--body-bg: var(--bg)" in css and "--header-bg: var(--card-bg)" in css
    for column in ("tokens_shown", "cost_usd", "latency_shown", "id"):
        assert f".column-{column}" in css and f".field-{column}" in css
    assert ".tm-status-error" in css


def test_the_per_day_and_per_model_pages_carry_the_boards_charts(web, client, llm_db):
    days = client.get("/telemetry/days/").content.decode()
    assert 'id="cost-chart"' in days and 'class="tm-bar' in days
    models = client.get("/telemetry/models/").content.decode()
    assert 'id="model-chart"' in models and 'class="tm-slice' in models


def test_an_invocation_links_to_its_agents_cards_and_back(web, client, llm_db):
    html = client.get(LIST).content.decode()
    detail = re.search(r'href="(/telemetry/telemetry/invocation/\d+/change/[^"]*)"', html)[1]
    page = client.get(detail.replace("&amp;", "&")).content.decode()
    assert 'id="agent-cards" href="/?agent=reviewer"' in page
    assert "Invocation at 2026-02-06 12:30:42" in page
    assert "$0.500000" in page and "Cost (USD) 0.5" not in page
    assert f'href="{LIST}?agent=reviewer"' in page


def test_the_agent_summary_links_each_agent_to_its_cards(web, client, llm_db):
    html = client.get("/telemetry/agents/").content.decode()
    assert '<a href="/?agent=writer">its cards</a>' in html


def test_a_missing_database_is_unknown_on_the_index_not_zero(web, client, tmp_path, use_service):
    use_service(tmp_path / "missing.db")
    html = client.get("/telemetry/").content.decode()
    assert "costs unknown" in html
