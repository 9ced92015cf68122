"""Per-agent cost today, when each agent was last active, and what was counted (issue 11)."""

from datetime import datetime, timezone

from telemetry.aggregate import Aggregates
from telemetry.service import TelemetryService
from telemetry.timestamps import UTC

from .builders import create, row
from .conftest import NOW


def loaded(path, tz="UTC", now=NOW):
    svc = TelemetryService(clock=lambda: now)
    svc.configure(path, tz, background=False)
    return svc


def epoch(text):
    return datetime.fromisoformat(text).timestamp()


def test_cost_today_is_split_by_agent_and_yesterday_is_left_out(tmp_path):
    path = create(
        tmp_path / "t.db",
        "llm",
        [
            row("2026-02-06T10:00:00Z", 0.50, agent="ann"),
            row("2026-02-06T11:00:00Z", 0.25, agent="ann"),
            row("2026-02-06T12:00:00Z", 1.00, agent="bob"),
            row("2026-02-05T12:00:00Z", 9.00, agent="bob"),
        ],
    )
    stats = loaded(path).get_stats()
    assert stats["agents_today"] == [
        {"agent": "bob", "cost": 1.0, "tokens": 100, "invocations": 1},
        {"agent": "ann", "cost": 0.75, "tokens": 200, "invocations": 2},
    ]


def test_an_agents_day_follows_the_dashboard_zone_even_for_odd_offsets(tmp_path):
    # 23:50 at +05:45 is 18:05 UTC on Feb 6.
    path = create(
        tmp_path / "t.db",
        "llm",
        [row("2026-02-06T23:50:00+05:45", 2.0, agent="ann"), row("2026-02-06T00:10:00Z", 1.0)],
    )
    utc = loaded(path).get_stats()
    assert [a["agent"] for a in utc["agents_today"]] == ["ann", "backend-dev"]
    nepal = loaded(path, "Asia/Kathmandu", now=datetime(2026, 2, 6, 20, tzinfo=timezone.utc))
    # Now is Feb 7 01:45 in Kathmandu: neither row is today any more.
    assert nepal.get_stats()["agents_today"] == []


def test_a_bucket_that_crosses_midnight_is_split_by_agent_on_the_right_days(tmp_path):
    # +00:07: the bucket 00:00-00:15 written in it spans 23:53 to 00:08 UTC.
    path = create(
        tmp_path / "t.db",
        "llm",
        [
            row("2026-02-06T00:05:00+00:07", 1.0, agent="ann"),
            row("2026-02-06T00:10:00+00:07", 2.0, agent="bob"),
            row("2026-02-06T00:11:00+00:07", 4.0, agent="ann"),
        ],
    )
    svc = loaded(path)
    today = {a["agent"]: a["cost"] for a in svc.get_stats()["agents_today"]}
    assert today == {"ann": 4.0, "bob": 2.0}
    assert svc.get_stats()["cost"]["today"] == 6.0


def test_a_schema_without_agents_has_no_agent_figures(tmp_path):
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T10:00:00Z", 0.5)])
    stats = loaded(path).get_stats()
    assert stats["agents_today"] == []
    assert loaded(path).get_stats()["cost"]["today"] == 0.5


def test_an_agent_is_last_active_no_earlier_than_its_latest_call_and_at_most_15_min_after(
    tmp_path,
):
    path = create(
        tmp_path / "t.db",
        "llm",
        [
            row("2026-02-06T10:01:00Z", agent="ann"),
            row("2026-02-06T14:07:30+00:00", agent="ann"),
            row("2026-02-06 09:00:00", agent="bob"),
        ],
    )
    svc = loaded(path)
    last = svc.agent_last_active()
    latest = epoch("2026-02-06T14:07:30+00:00")
    assert latest <= last["ann"] <= latest + 15 * 60
    assert epoch("2026-02-06T09:00:00+00:00") <= last["bob"] <= epoch("2026-02-06T09:15:00+00:00")


def test_unix_second_timestamps_give_a_last_active_moment_too():
    agg = Aggregates(UTC)
    agg.add_rows([(1, 1_770_000_000, "m", "t", "ann", "success", 10, 0.1, 5)])
    assert agg.agent_last["ann"] == 1_770_000_000


def test_what_was_counted_names_null_negative_odd_undated_and_future_rows(tmp_path):
    path = create(
        tmp_path / "t.db",
        "llm",
        [
            row("2026-02-06T10:00:00Z", 1.0),
            row("2026-02-06T10:00:00Z", None),
            row("2026-02-06T10:00:00Z", None),
            row("2026-02-06T10:00:00Z", -3.0),
            row("not a time", 0.5),
            row("2026-03-01T10:00:00Z", 0.25),
        ],
    )
    stats = loaded(path).get_stats()
    assert stats["invocations"] == 6
    assert stats["null_costs"] == 2
    assert stats["negative_costs"] == 1
    assert stats["undated"] == 1
    assert stats["future_rows"] == 1
    assert stats["cost"]["total"] == 1.75  # undated and future rows are in the total
    assert stats["cost"]["today"] == 1.0


def test_null_costs_are_counted_on_the_row_by_row_path_too():
    agg = Aggregates(UTC)
    agg.add_rows([(1, "2026-02-06T10:00:00Z", "m", "t", "ann", "ok", 1, None, None)])
    assert agg.null_costs == 1
    assert agg.by_day_agent["2026-02-06"]["ann"][2] == 1


def test_new_rows_add_to_an_agents_cost_today(tmp_path):
    from .builders import insert

    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z", 0.5, agent="ann")])
    svc = loaded(path)
    insert(path, "llm", [row("2026-02-06T14:59:00Z", 0.25, agent="ann")])
    svc.poll()
    (ann,) = svc.get_stats()["agents_today"]
    assert ann["cost"] == 0.75
    assert svc.agent_last_active()["ann"] >= epoch("2026-02-06T14:59:00+00:00")
    assert NOW.astimezone(UTC).date().isoformat() == "2026-02-06"
