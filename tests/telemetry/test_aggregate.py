"""Figures from fixed rows, computed by hand."""

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from telemetry.aggregate import Aggregates, base_stats, timed_stats, velocity

UTC = timezone.utc


def rows(*specs):
    """(timestamp, cost, model, status, latency) -> aggregator rows."""
    out = []
    for i, (ts, cost, model, status, latency) in enumerate(specs, start=1):
        out.append((i, ts, model, "cli", "dev", status, 10, cost, latency))
    return out


BOUNDARY_ROWS = rows(
    # Around midnight UTC between Jan 31 and Feb 1 (a month boundary too).
    ("2026-01-31T23:30:00Z", 1.00, "a", "success", 100),
    ("2026-02-01 00:30:00", 2.00, "a", "success", 200),
    # 04:30 UTC on Feb 1 is still Jan 31 in New York (UTC-5).
    ("2026-02-01T04:30:00+00:00", 4.00, "b", "error", 300),
    # Feb 6 in every zone.
    ("2026-02-06T12:00:00.123456", 8.00, "b", "OK", 400),
    ("2026-02-06T09:00:00.5-05:00", 16.00, "b", "Completed", None),
    # NULL and negative costs count as 0.
    ("2026-02-06 10:00:00+0100", None, "a", "success", 500),
    ("2026-02-06 10:00:00+01", -3.00, "a", "failed", -5),
)
NOW = datetime(2026, 2, 6, 18, 0, tzinfo=UTC)


def figures(tz):
    agg = Aggregates(ZoneInfo(tz))
    agg.add_rows(BOUNDARY_ROWS)
    agg.log_notes()
    base = base_stats(agg)
    return base, timed_stats(base, NOW, ZoneInfo(tz))


def test_day_and_month_boundaries_follow_utc():
    base, timed = figures("UTC")
    assert timed["cost"] == {"today": 24.0, "month": 30.0, "total": 31.0}
    daily = {d["date"]: d["cost"] for d in timed["daily"]}
    assert daily["2026-01-31"] == 1.0
    assert daily["2026-02-01"] == 6.0
    assert daily["2026-02-06"] == 24.0


def test_day_and_month_boundaries_follow_new_york():
    base, timed = figures("America/New_York")
    # Jan 31 (NY) holds the first three rows; February only has Feb 6.
    assert timed["cost"] == {"today": 24.0, "month": 24.0, "total": 31.0}
    daily = {d["date"]: d["cost"] for d in timed["daily"]}
    assert daily["2026-01-31"] == 7.0
    assert daily["2026-02-01"] == 0.0


def test_null_and_negative_costs_count_as_zero_and_negatives_are_counted(caplog):
    base, _ = figures("UTC")
    assert base["invocations"] == 7
    assert base["negative_costs"] == 1
    assert "negative" in caplog.text


def test_success_is_case_insensitive_ok_success_completed():
    base, _ = figures("UTC")
    assert base["success_rate"] == round(5 / 7, 6)  # success x3, OK, Completed
    assert base["statuses"] == {"Completed": 1, "OK": 1, "error": 1, "failed": 1, "success": 3}


def test_latency_leaves_out_null_and_negative_values():
    base, _ = figures("UTC")
    assert base["latency_ms"]["avg"] == 300.0  # (100+200+300+400+500)/5
    # sorted [100,200,300,400,500]; index floor(5*0.95)=4
    assert base["latency_ms"]["p95"] == 500.0


def test_p95_matches_the_specs_offset_definition():
    agg = Aggregates(UTC)
    agg.add_rows([(i, "2026-02-06", "m", "t", None, "success", 1, 0.0, i) for i in range(1, 101)])
    assert agg.p95() == 96.0  # ORDER BY latency LIMIT 1 OFFSET 95


def test_per_model_costs_and_shares():
    base, _ = figures("UTC")
    models = {m["model"]: m for m in base["models"]}
    assert models["b"]["cost"] == 28.0 and models["b"]["invocations"] == 3
    assert models["a"]["cost"] == 3.0 and models["a"]["share"] == round(4 / 7, 6)
    assert [m["model"] for m in base["models"]] == ["b", "a"]  # most expensive first


def test_the_last_30_days_are_oldest_first_with_zero_days():
    _, timed = figures("UTC")
    assert len(timed["daily"]) == 30
    assert timed["daily"][0]["date"] == "2026-01-08"
    assert timed["daily"][-1]["date"] == "2026-02-06"
    assert timed["daily"][1] == {"date": "2026-01-09", "cost": 0.0, "tokens": 0, "invocations": 0}


def test_cost_velocity_projects_today_to_24_hours():
    _, timed = figures("UTC")
    assert timed["cost_velocity"] == 24.0 / 18 * 24


def test_cost_velocity_counts_at_least_one_hour():
    assert velocity(1.0, datetime(2026, 2, 6, 0, 6, tzinfo=UTC)) == 24.0


def test_cost_velocity_counts_real_hours_on_a_dst_day():
    berlin = ZoneInfo("Europe/Berlin")
    # 2026-03-29: clocks jump from 02:00 to 03:00; at 12:00 local only 11 hours have passed.
    assert velocity(11.0, datetime(2026, 3, 29, 12, 0, tzinfo=berlin)) == 24.0


def test_an_unreadable_timestamp_counts_in_totals_but_no_day():
    agg = Aggregates(UTC)
    agg.add_rows([(1, "last tuesday", "m", "t", None, "success", 5, 1.5, 10)])
    base = base_stats(agg)
    assert base["cost_total"] == 1.5 and base["undated"] == 1 and base["by_day"] == {}


def test_new_rows_add_to_the_figures():
    agg = Aggregates(UTC)
    agg.add_rows(rows(("2026-02-06T01:00:00Z", 0.15, "a", "success", 1)))
    agg.add_rows([(2, "2026-02-06T02:00:00Z", "a", "cli", "dev", "success", 2000, 0.08, 1)])
    timed = timed_stats(base_stats(agg), NOW, UTC)
    assert f"{timed['cost']['today']:.2f}" == "0.23"
    assert agg.max_rowid == 2


def hostile(*values):
    """(cost, tokens, latency) triples -> aggregator rows, all on Feb 6."""
    return [
        (i, "2026-02-06T10:00:00Z", "m", "t", "a", "success", tokens, cost, latency)
        for i, (cost, tokens, latency) in enumerate(values, start=1)
    ]


def test_infinite_absurd_and_nan_costs_count_as_zero_and_are_logged(caplog):
    agg = Aggregates(UTC)
    agg.add_rows(
        hostile(
            ("Infinity", 1, 1),
            (float("inf"), 1, 1),
            (1e308, 1, 1),
            (1e308, 1, 1),
            ("nan", 1, 1),
            (0.5, 1, 1),
        )
    )
    agg.log_notes()
    base = base_stats(agg)
    assert base["cost_total"] == 0.5 and base["by_day"]["2026-02-06"][0] == 0.5
    assert base["invocations"] == 6 and base["odd_values"] == 5
    assert "not finite" in caplog.text and "too large" in caplog.text
    json.dumps(base, allow_nan=False)  # raises on NaN or infinity


def test_nan_and_infinite_tokens_and_latencies_never_reach_the_figures():
    agg = Aggregates(UTC)
    agg.add_rows(
        hostile(
            (0.1, float("nan"), float("inf")), (0.1, "1e999", "nan"), (0.1, 7, 1e300), (0.1, 5, 9)
        )
    )
    base = base_stats(agg)
    assert base["tokens"] == 12
    assert base["latency_ms"] == {"avg": 9.0, "p95": 9.0}
    json.dumps(base, allow_nan=False)


def test_timestamps_outside_years_1_to_9999_are_in_no_day():
    agg = Aggregates(ZoneInfo("Pacific/Kiritimati"))  # UTC+14
    agg.add_rows(
        [
            (1, "0001-01-01T00:00:00+05:00", "m", "t", None, "ok", 1, 1.0, 1),
            (2, "9999-12-31T23:59:59-05:00", "m", "t", None, "ok", 1, 2.0, 1),
            (3, "9999-12-31T20:00:00Z", "m", "t", None, "ok", 1, 4.0, 1),  # year 10000 there
            (4, "2026-02-06T01:00:00Z", "m", "t", None, "ok", 1, 8.0, 1),
        ]
    )
    base = base_stats(agg)
    assert base["undated"] == 3 and base["cost_total"] == 15.0
    assert base["by_day"] == {"2026-02-06": (8.0, 1, 1)}


def test_tables_list_the_top_rows_and_sum_the_rest_with_long_names_cut():
    agg = Aggregates(UTC)
    huge = "x" * 1_000_000
    rows = [
        (i, "2026-02-06", huge, "t", f"agent-{i:03}", "ok", 1, float(i), 1) for i in range(1, 51)
    ]
    agg.add_rows(rows)
    base = base_stats(agg)
    assert len(base["agents"]) == 20 and base["agents"][0]["agent"] == "agent-050"
    assert base["agents_more"] == {"count": 30, "invocations": 30, "tokens": 30, "cost": 465.0}
    (model,) = base["models"]
    assert model["truncated"] is True and len(model["model"]) == 200
    assert len(json.dumps(base)) < 20_000
