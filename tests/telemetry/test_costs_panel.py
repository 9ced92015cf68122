"""The costs panel: budgets, forecasts, "what was counted" and the all-agents note (issue 11)."""

import re
from datetime import datetime, timezone

from django.template.loader import render_to_string

from telemetry.budgets import Budget, BudgetAlerts, budgets, month_forecast

from .builders import create, row
from .test_fragments import text_of


def figures():
    return render_to_string("telemetry/fragments.html#figures")


def test_below_80_percent_the_box_shows_the_share_but_no_banner(
    web, tmp_path, use_service, settings
):
    settings.DASHBOARD_BUDGET_DAILY = 10.0
    use_service(create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z", 5.0)]))
    html = figures()
    assert 'data-budget="ok"' in html
    assert text_of(html, "budget-day") == "50% of $10.00"
    assert 'id="budget-banner"' not in html


def test_at_80_percent_the_box_changes_class_and_says_warning(web, tmp_path, use_service, settings):
    settings.DASHBOARD_BUDGET_DAILY = 10.0
    use_service(create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z", 8.1)]))
    html = figures()
    assert "tm-budget-warning" in html and 'data-budget="warning"' in html
    assert text_of(html, "budget-day") == "81% of $10.00 · warning"
    banner = re.search(r'<div id="budget-banner".*?</div>', html, re.S).group(0)
    assert "Budget warning" in banner
    assert "Daily budget: 81% used ($8.10 of $10.00)." in banner
    assert "only reports" in banner


def test_at_95_and_100_percent_the_words_change_too(web, tmp_path, use_service, settings):
    settings.DASHBOARD_BUDGET_MONTHLY = 20.0
    use_service(create(tmp_path / "t.db", "llm", [row("2026-02-01T10:00:00Z", 19.0)]))
    html = figures()
    assert 'data-budget="critical"' in html and "Budget almost spent" in html
    settings.DASHBOARD_BUDGET_MONTHLY = 15.0
    html = figures()
    assert 'data-budget="exceeded"' in html and "Budget exceeded" in html
    assert "Monthly budget exceeded: 127% used ($19.00 of $15.00)." in html


def test_without_budgets_nothing_about_budgets_is_shown(web, tmp_path, use_service, settings):
    settings.DASHBOARD_BUDGET_DAILY = None
    settings.DASHBOARD_BUDGET_MONTHLY = None
    use_service(create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z", 1e6)]))
    html = figures()
    assert 'data-budget="ok"' in html and "budget-banner" not in html and "budget-day" not in html


def test_a_missing_database_has_no_budget_alarm_and_no_forecast(
    web, tmp_path, use_service, settings
):
    settings.DASHBOARD_BUDGET_DAILY = 0.01
    use_service(tmp_path / "none.db")
    html = figures()
    assert "budget-banner" not in html and "cost-forecast-month" not in html


def test_the_forecasts_project_today_and_the_month_at_the_current_pace(web, tmp_path, use_service):
    # The clock is Feb 6 15:00 UTC: 15 h of the day and 5.625 of the month's 28 days gone.
    use_service(
        create(
            tmp_path / "t.db",
            "llm",
            [row("2026-02-06T10:00:00Z", 1.5), row("2026-02-02T10:00:00Z", 4.125)],
        )
    )
    html = figures()
    assert text_of(html, "cost-velocity") == "$2.40"  # 1.5 / 15 h * 24 h
    assert text_of(html, "cost-forecast-month") == "$28.00"  # 5.625 / 5.625 d * 28 d


def test_what_was_counted_lists_every_reason_a_row_counts_as_zero(web, tmp_path, use_service):
    use_service(
        create(
            tmp_path / "t.db",
            "llm",
            [
                row("2026-02-06T10:00:00Z", 1.0),
                row("2026-02-06T10:00:00Z", None),
                row("2026-02-06T10:00:00Z", -2.0),
                row("garbage", 1.0),
                row("2027-01-01T00:00:00Z", 1.0),
            ],
        ),
        "Europe/Berlin",
    )
    html = figures()
    assert "<details" in html and "What was counted" in html
    assert text_of(html, "counted-rows") == "5"
    assert text_of(html, "counted-null") == "1"
    assert text_of(html, "counted-negative") == "1"
    assert text_of(html, "counted-undated") == "1"
    assert text_of(html, "counted-future") == "1"
    assert "<b>Europe/Berlin</b>" in html and "llm-service 1.0.0" in html
    assert "some rows as $0 or in no day" in html


def test_the_panel_names_its_scope_and_carries_the_filter_note(web, tmp_path, use_service):
    use_service(create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z", 0.75, agent="ann")]))
    html = figures()
    assert "all agents" in html
    assert "the agent filter does not apply here" in html  # shown by CSS while filtering
    row_html = re.search(r'<tr data-agent="ann">.*?</tr>', html, re.S).group(0)
    assert row_html.count("$0.75") == 2  # today and in all


def test_the_stylesheet_shows_the_filter_note_only_while_an_agent_is_filtered():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static/telemetry/telemetry.css").read_text()
    assert ".tm-filter-note { display: none;" in css
    assert 'body:has(#filter-agent option:checked:not([value=""])) .tm-filter-note' in css


# -- the pure parts ---------------------------------------------------------------------


def stats(today=0.0, month=0.0, velocity=0.0, month_pace=0.0, state="ok"):
    return {
        "state": state,
        "daily": [{"date": "2026-02-06"}],
        "cost": {"today": today, "month": month},
        "cost_velocity": velocity,
        "month_forecast": month_pace,
    }


def test_a_budget_level_follows_80_95_and_100_percent():
    levels = [Budget("day", "d", 100, spent, spent).level for spent in (79.9, 80, 95, 100, 250)]
    assert levels == ["ok", "warning", "critical", "exceeded", "exceeded"]


def test_budgets_are_only_compared_with_figures_that_are_known():
    assert budgets(stats(today=50, state="missing"), 10, 10) == []
    found = budgets(stats(today=5, month=50, velocity=12, month_pace=300), 10, 100)
    assert [(b.period, b.key, b.percent, b.forecast) for b in found] == [
        ("day", "2026-02-06", 50.0, 12),
        ("month", "2026-02", 50.0, 300),
    ]


def test_each_threshold_is_reported_once_per_period():
    alerts = BudgetAlerts()

    def check(spent, key="2026-02-06"):
        return [
            (a.event, a.threshold) for a in alerts.check([Budget("day", key, 10, spent, spent)])
        ]

    assert check(5) == []
    assert check(8.5) == [("budget.warning", 80)]
    assert check(8.7) == []
    assert check(9.6) == [("budget.warning", 95)]
    assert check(12) == [("budget.exceeded", 100)]
    assert check(13) == []
    assert check(12, key="2026-02-07") == [("budget.exceeded", 100)]  # a new day


def test_crossing_several_thresholds_at_once_reports_the_highest_only():
    alerts = BudgetAlerts().check([Budget("month", "2026-02", 10, 11, 11)])
    assert [(a.event, a.threshold, a.period) for a in alerts] == [("budget.exceeded", 100, "month")]
    assert alerts[0].text.startswith("Monthly budget exceeded: 110% used ($11.00 of $10.00).")


def test_the_month_forecast_counts_at_least_one_day_elapsed():
    early = datetime(2026, 2, 1, 0, 5, tzinfo=timezone.utc)
    assert month_forecast(1.0, early) == 28.0
    mid = datetime(2026, 2, 15, 0, 0, tzinfo=timezone.utc)
    assert month_forecast(14.0, mid) == 28.0
