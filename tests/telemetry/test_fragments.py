"""The figures and charts partials, as the board page and the WebSocket push render them."""

import re
import sqlite3

from django.template.loader import render_to_string

from tests.telemetry.builders import create, row


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"#{element_id} not found"
    return match.group(1).strip()


def test_the_figures_show_costs_with_two_decimals(web, tmp_path, use_service):
    use_service(
        create(
            tmp_path / "t.db",
            "spec",
            [
                row("2026-02-06T10:00:00Z", 0.15),
                row("2026-02-06T11:00:00Z", 0.08),
                row("2026-01-01T10:00:00Z", 3.3),
            ],
        )
    )
    html = render_to_string("telemetry/fragments.html#figures")
    assert text_of(html, "cost-today") == "$0.23"
    assert text_of(html, "cost-month") == "$0.23"
    assert text_of(html, "cost-total") == "$3.53"
    assert "hx-swap-oob" not in html


def test_a_push_carries_hx_swap_oob_on_each_root(web, tmp_path, use_service):
    svc = use_service(create(tmp_path / "t.db", "spec", [row("2026-02-06T10:00:00Z", 1)]))
    stats = svc.get_stats()
    for name, root in (("figures", "telemetry-figures"), ("charts", "telemetry-charts")):
        html = render_to_string(f"telemetry/fragments.html#{name}", {"stats": stats, "oob": True})
        assert re.match(rf'\s*<section id="{root}"[^>]*hx-swap-oob="true"', html)


def test_the_page_says_which_time_zone_it_uses(web, tmp_path, use_service):
    use_service(create(tmp_path / "t.db", "spec", []), "Europe/Berlin")
    html = render_to_string("telemetry/fragments.html#figures")
    assert text_of(html, "telemetry-zone") == "Europe/Berlin"


def test_an_empty_database_shows_zero_and_no_data_yet(web, tmp_path, use_service):
    use_service(create(tmp_path / "t.db", "llm", []))
    figures = render_to_string("telemetry/fragments.html#figures")
    charts = render_to_string("telemetry/fragments.html#charts")
    assert text_of(figures, "cost-today") == "$0.00"
    assert text_of(figures, "cost-total") == "$0.00"
    assert "No data yet" in figures
    assert 'id="cost-chart"' in charts and 'id="model-chart"' in charts
    assert charts.count("No data yet") == 2
    assert "<svg" not in charts


def test_a_missing_database_shows_a_dash_and_why_never_zero(web, tmp_path, use_service):
    use_service(tmp_path / "none.db")
    figures = render_to_string("telemetry/fragments.html#figures")
    charts = render_to_string("telemetry/fragments.html#charts")
    for element in ("cost-today", "cost-month", "cost-total"):
        assert text_of(figures, element) == "—"
    assert "$0.00" not in figures
    assert "No telemetry database yet." in figures and "Costs unknown" in figures
    assert charts.count("Unavailable") == 2 and "<svg" not in charts


def test_a_corrupt_database_shows_a_clear_message(web, tmp_path, use_service):
    path = tmp_path / "t.db"
    path.write_bytes(b"not sqlite at all" * 100)
    use_service(path)
    html = render_to_string("telemetry/fragments.html#figures")
    assert "cannot be read" in html and 'class="tm-message tm-error' in html
    assert text_of(html, "cost-total") == "—" and "$0.00" not in html


def test_the_charts_are_svg_with_tooltips_tables_and_drill_down_links(web, tmp_path, use_service):
    use_service(
        create(
            tmp_path / "t.db",
            "llm",
            [
                row("2026-02-06T10:00:00Z", 0.5, model="gpt-4o"),
                row("2026-02-05T10:00:00Z", 1.5, model="claude"),
                row("2026-02-05T11:00:00Z", 1.0, model="claude"),
            ],
        )
    )
    html = render_to_string("telemetry/fragments.html#charts")
    assert html.count('class="tm-bar') == 30
    assert "<title>2026-02-05: $2.50 · 2 invocations · 200 tokens</title>" in html
    assert (
        'href="/telemetry/telemetry/invocation/?timestamp__year=2026&amp;timestamp__month=2&amp;timestamp__day=5"'
        in html
    )
    assert 'href="/telemetry/telemetry/invocation/?model=claude"' in html
    assert "<title>claude: 66.7% · 2 invocations · $2.50</title>" in html
    assert "<script" not in html and 'fill="#' not in html  # themed by CSS classes


def test_agents_are_listed_when_the_schema_has_them(web, tmp_path, use_service):
    use_service(
        create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z", 1.25, agent="writer")])
    )
    html = render_to_string("telemetry/fragments.html#figures")
    assert "Per agent" in html and ">writer</a>" in html and "$1.25" in html


def test_the_spec_schema_has_no_agent_table(web, tmp_path, use_service):
    use_service(create(tmp_path / "t.db", "spec", [row("2026-02-06T10:00:00Z", 1.25)]))
    assert "Per agent" not in render_to_string("telemetry/fragments.html#figures")


def test_an_infinite_cost_still_renders_both_fragments(web, tmp_path, use_service):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z", 0.5)])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE invocations SET cost_usd = 1e999")
        conn.execute(
            "INSERT INTO invocations (invocation_id, timestamp, agent_name, tool_name, model_name,"
            " cost_usd, status) VALUES ('b', '2026-02-06T11:00:00Z', 'a', 't', 'm', 1e308, 'ok'),"
            " ('c', '2026-02-06T12:00:00Z', 'a', 't', 'm', 1e308, 'ok')"
        )
    conn.close()
    use_service(path)
    figures = render_to_string("telemetry/fragments.html#figures")
    charts = render_to_string("telemetry/fragments.html#charts")
    assert text_of(figures, "cost-total") == "$0.00"
    assert 'id="cost-chart"' in charts


def test_many_agents_and_a_huge_model_name_keep_the_fragments_small(web, tmp_path, use_service):
    huge = "m" * 1_000_000
    rows = [
        row("2026-02-06T10:00:00Z", 0.01 * i, agent=f"agent-{i:04}", model=huge if i == 1 else "x")
        for i in range(1, 301)
    ]
    use_service(create(tmp_path / "t.db", "llm", rows))
    figures = render_to_string("telemetry/fragments.html#figures")
    charts = render_to_string("telemetry/fragments.html#charts")
    assert len(figures) + len(charts) < 60_000
    assert figures.count("<tr data-agent=") == 20 and "280 more agents" in figures
    assert ">agent-0300</a>" in figures  # the most expensive first


def test_a_missing_file_says_no_data_and_figures_format_safely():
    from django.template import Context, Template

    from telemetry.templatetags.telemetry_tags import count

    html = Template(
        "{% load telemetry_tags %}{{ a|usd }} {{ b|usd }} {{ c|pct }} {{ d|ms }} {{ e|pct:0 }}"
    ).render(Context({"a": float("inf"), "b": "x", "c": None, "d": float("nan"), "e": 0.5}))
    assert html == "$0.00 $0.00 – – 50%"
    assert count("12345") == "12,345" and count(float("inf")) == "0"
