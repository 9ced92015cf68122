"""The reader against real SQLite files: exact figures, changes, locks, corruption, read-only."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from telemetry.service import TelemetryService
from tests.telemetry.builders import create, insert, row

UTC = timezone.utc
NOW = datetime(2026, 2, 6, 15, 0, tzinfo=UTC)

FIXED = [
    row("2026-01-31T23:59:59.999", 1.25, model="gpt-4o"),
    row("2026-02-01T00:00:00", 2.50, model="claude"),
    row("2026-02-06 00:00:00Z", 0.15, model="claude", status="error", latency=900),
    row("2026-02-06T10:15:00.123456+00:00", 0.08, model="gpt-4o", tokens=2000),
    row("2026-02-06T16:00:00+02:00", None, tokens=None),
    row("2026-02-06T11:00:00-01:00", -0.5),
    row("2025-12-31T23:00:00", 10.0, latency=None),
]


def loaded(path: Path, tz: str = "UTC", now: datetime = NOW) -> TelemetryService:
    svc = TelemetryService(clock=lambda: now)
    svc.configure(path, tz, background=False)
    return svc


def sql_figures(path: Path, cost: str, today: tuple[str, str], month: tuple[str, str]) -> dict:
    """The same figures, computed independently in SQL over UTC bounds."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    clamp = f"CASE WHEN {cost} > 0 THEN {cost} ELSE 0 END"
    utc = "strftime('%Y-%m-%d %H:%M:%f', timestamp)"

    def q(where: str) -> float:
        return conn.execute(f"SELECT total({clamp}) FROM invocations WHERE {where}").fetchone()[0]

    return {
        "total": q("1"),
        "today": q(f"{utc} >= '{today[0]}' AND {utc} < '{today[1]}'"),
        "month": q(f"{utc} >= '{month[0]}' AND {utc} < '{month[1]}'"),
        "p95": conn.execute(
            "SELECT latency_ms FROM invocations WHERE latency_ms >= 0 ORDER BY latency_ms "
            "LIMIT 1 OFFSET (SELECT CAST(count(*) * 0.95 AS INTEGER) FROM invocations"
            " WHERE latency_ms >= 0)"
        ).fetchone()[0],
    }


@pytest.mark.parametrize("kind, cost", [("spec", "cost"), ("llm", "cost_usd")])
def test_figures_match_an_independent_sql_computation_to_the_cent(tmp_path, kind, cost):
    path = create(tmp_path / "t.db", kind, FIXED)
    stats = loaded(path).get_stats()
    expected = sql_figures(path, cost, ("2026-02-06", "2026-02-07"), ("2026-02-01", "2026-03-01"))
    assert f"{stats['cost']['today']:.2f}" == f"{expected['today']:.2f}" == "0.23"
    assert f"{stats['cost']['month']:.2f}" == f"{expected['month']:.2f}" == "2.73"
    assert f"{stats['cost']['total']:.2f}" == f"{expected['total']:.2f}" == "13.98"
    assert stats["latency_ms"]["p95"] == expected["p95"]
    assert stats["invocations"] == 7 and stats["tokens"] == 100 * 5 + 2000
    assert stats["state"] == "ok" and stats["schema"] == kind


def test_figures_in_tokyo_move_the_day_and_month_boundaries(tmp_path):
    path = create(tmp_path / "t.db", "llm", FIXED)
    stats = loaded(path, "Asia/Tokyo").get_stats()  # UTC+9: now is Feb 7, 00:00
    # Tokyo's Feb 7 starts at 2026-02-06 15:00 UTC: nothing yet. Its February starts at
    # 2026-01-31 15:00 UTC, so the 23:59:59.999 row counts in February.
    expected = sql_figures(
        path,
        "cost_usd",
        ("2026-02-06 15:00", "2026-02-07 15:00"),
        ("2026-01-31 15:00", "2026-02-28 15:00"),
    )
    assert stats["cost"]["today"] == expected["today"] == 0
    assert round(stats["cost"]["month"], 2) == round(expected["month"], 2) == 3.98
    assert stats["time_zone"] == "Asia/Tokyo"
    assert stats["daily"][-1]["date"] == "2026-02-07"


def test_a_missing_file_shows_zero_and_is_picked_up_when_it_appears(tmp_path):
    path = tmp_path / "later.db"
    svc = loaded(path)
    stats = svc.get_stats()
    assert stats["state"] == "missing" and svc.health() == "missing"
    assert stats["cost"] == {"today": 0, "month": 0, "total": 0}
    assert not path.exists()  # we never create it
    create(path, "spec", [row("2026-02-06T01:00:00Z", 0.5)])
    assert svc.poll() is True
    assert svc.get_stats()["cost"]["today"] == 0.5 and svc.health() == "ok"


def test_new_rows_are_read_incrementally_by_rowid(tmp_path):
    path = create(
        tmp_path / "t.db",
        "spec",
        [row("2026-02-06T01:00:00Z", 0.15), row("2026-02-01T01:00:00Z", 3.30)],
    )
    svc = loaded(path)
    assert svc.get_stats()["cost"]["month"] == pytest.approx(3.45)
    assert svc.poll() is False  # nothing changed
    insert(path, "spec", [row("2026-02-06T02:00:00Z", 0.08, tokens=2000)])
    assert svc.poll() is True
    stats = svc.get_stats()
    assert (f"{stats['cost']['today']:.2f}", f"{stats['cost']['month']:.2f}") == ("0.23", "3.53")


def test_deleted_rows_are_noticed_and_the_figures_rebuilt(tmp_path):
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T01:00:00Z", 1.0)] * 3)
    svc = loaded(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM invocations WHERE id = 1")
    conn.close()
    assert svc.poll() is True
    assert svc.get_stats()["cost"]["total"] == 2.0


def test_an_updated_cost_is_noticed(tmp_path):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T01:00:00Z", 1.0)] * 2)
    svc = loaded(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE invocations SET cost_usd = 5 WHERE id = 1")
    conn.close()
    svc.poll()
    assert svc.get_stats()["cost"]["total"] == 6.0


def test_a_replaced_file_with_another_schema_is_read_from_scratch(tmp_path):
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T01:00:00Z", 1.0)] * 5)
    svc = loaded(path)
    create(tmp_path / "new.db", "llm", [row("2026-02-06T01:00:00Z", 0.25, agent="writer")])
    os.replace(tmp_path / "new.db", path)
    assert svc.poll() is True
    stats = svc.get_stats()
    assert stats["cost"]["total"] == 0.25 and stats["schema"] == "llm"
    assert [a["agent"] for a in stats["agents"]] == ["writer"]


def test_a_locked_database_gives_up_within_5_seconds_and_keeps_the_last_values(tmp_path):
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T01:00:00Z", 1.0)])
    svc = loaded(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute(
        "INSERT INTO invocations (timestamp, tool, model, cost) VALUES ('2026-02-06', 't', 'm', 9)"
    )
    try:
        started = time.monotonic()
        svc.poll()
        took = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    stats = svc.get_stats()
    assert took < 5.0
    assert stats["cost"]["total"] == 1.0
    assert stats["stale"] is True and "locked" in stats["message"]
    assert svc.health() == "ok"
    svc.poll()
    assert svc.get_stats()["stale"] is False


def test_a_corrupt_file_is_reported_and_nothing_crashes(tmp_path):
    path = tmp_path / "t.db"
    path.write_bytes(b"this is not a database" * 1000)
    svc = loaded(path)
    stats = svc.get_stats()
    assert stats["state"] == "error" and svc.health() == "error"
    assert "cannot be read" in stats["message"] and "not a database" in stats["message"]
    assert stats["cost"]["total"] == 0


def test_a_file_that_turns_corrupt_keeps_its_last_figures_beside_the_message(tmp_path):
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T01:00:00Z", 2.0)])
    svc = loaded(path)
    path.write_bytes(b"garbage" * 5000)
    assert svc.poll() is True
    stats = svc.get_stats()
    assert stats["state"] == "error" and stats["cost"]["total"] == 2.0


@pytest.mark.parametrize("wal", [False, True])
def test_the_file_is_never_written_and_no_side_file_is_created(tmp_path, wal):
    path = create(tmp_path / "t.db", "llm", FIXED, wal=wal)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(os.listdir(tmp_path)) == ["t.db"]
    svc = loaded(path)
    svc.poll()
    svc.refresh(force=True)
    assert svc.get_stats()["invocations"] == 7
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(os.listdir(tmp_path)) == ["t.db"]


WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
with conn:
    conn.execute("INSERT INTO invocations (timestamp, tool, model, tokens, cost, latency_ms,"
                 " status) VALUES (?, 'cli', 'gpt-4o', 2000, 0.08, 100, 'success')", (sys.argv[2],))
"""


@pytest.mark.parametrize("wal", [False, True])
def test_the_watcher_reports_a_commit_by_another_process(tmp_path, wal):
    now = datetime.now(UTC)
    path = create(tmp_path / "t.db", "spec", [row(now.isoformat(), 0.15)], wal=wal)
    svc = TelemetryService()
    svc.configure(path, "UTC", background=False)
    changed = threading.Event()
    svc.start_watching(changed.set)
    try:
        time.sleep(0.2)
        changed.clear()
        subprocess.run([sys.executable, "-c", WRITER, str(path), now.isoformat()], check=True)
        # How soon is bench/telemetry_cold.py's business; a timed assert here only flaked.
        assert changed.wait(5)
        assert f"{svc.get_stats()['cost']['today']:.2f}" == "0.23"
    finally:
        svc.stop()


def test_the_watcher_picks_up_a_file_that_appears_later(tmp_path):
    path = tmp_path / "t.db"
    svc = TelemetryService()
    svc.configure(path, "UTC", background=False)
    changed = threading.Event()
    svc.start_watching(changed.set)
    try:
        create(path, "spec", [row(datetime.now(UTC).isoformat(), 1.0)])
        assert changed.wait(3)
        # Creating takes three commits (file, tables, row): wait for the last one to show.
        deadline = time.monotonic() + 2
        while svc.get_stats()["cost"]["total"] != 1.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert svc.get_stats()["cost"]["total"] == 1.0
    finally:
        svc.stop()


def test_configure_returns_at_once_and_figures_say_loading_until_ready(tmp_path):
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T01:00:00Z", 1.0)] * 20)
    svc = TelemetryService(clock=lambda: NOW)
    with svc._lock:  # hold the reader back, as a long first aggregation would
        svc.configure(path, "UTC")
        assert svc.get_stats()["state"] == "loading"
    assert svc.wait_loaded(5)
    assert svc.get_stats()["cost"]["total"] == 20.0


def test_an_unknown_time_zone_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown time zone"):
        TelemetryService().configure(tmp_path / "t.db", "Mars/Olympus")


def test_the_day_rolling_over_counts_as_a_change(tmp_path):
    clock = [datetime(2026, 2, 6, 23, 59, 59, tzinfo=UTC)]
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T01:00:00Z", 1.0)])
    svc = TelemetryService(clock=lambda: clock[0])
    svc.configure(path, "UTC", background=False)
    calls = []
    svc.start_watching(lambda: calls.append(1))
    try:
        time.sleep(0.8)
        assert calls == []
        clock[0] += timedelta(seconds=2)
        deadline = time.monotonic() + 3
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls and svc.get_stats()["cost"]["today"] == 0
    finally:
        svc.stop()


# Rows around the local midnights of UTC+05:30 and UTC+05:45 (Feb 6 and Feb 1 begin at
# 18:30 / 18:15 UTC the day before), written with and without offsets.
ZONED = FIXED + [
    row("2026-02-05T18:10:00Z", 0.01),
    row("2026-02-05T18:20:00Z", 0.02),  # Feb 6 in Kathmandu, Feb 5 in Kolkata
    row("2026-02-06T00:14:59+05:45", 0.04),  # 18:29:59 UTC
    row("2026-02-06T00:15:00+05:45", 0.08),  # 18:30 UTC: Feb 6 in both
    row("2026-02-05T23:59:59.999+05:30", 0.16),
    row("2026-01-31T18:14:00", 0.32),
    row("2026-01-31T18:16:00", 0.64),
    row("2026-01-31T18:31:00-00:00", 1.28),
    row("2026-02-06T18:20:00Z", 2.56),  # Feb 7 in Kathmandu: not today
]


@pytest.mark.parametrize(
    "tz, today, month",
    [
        (
            "Asia/Kolkata",
            ("2026-02-05 18:30", "2026-02-06 18:30"),
            ("2026-01-31 18:30", "2026-02-28 18:30"),
        ),
        (
            "Asia/Kathmandu",
            ("2026-02-05 18:15", "2026-02-06 18:15"),
            ("2026-01-31 18:15", "2026-02-28 18:15"),
        ),
    ],
)
@pytest.mark.parametrize("kind, cost", [("spec", "cost"), ("llm", "cost_usd")])
def test_half_and_quarter_hour_zones_match_an_independent_sql_computation(
    tmp_path, kind, cost, tz, today, month
):
    path = create(tmp_path / "t.db", kind, ZONED)
    stats = loaded(path, tz).get_stats()
    expected = sql_figures(path, cost, today, month)
    assert round(stats["cost"]["today"], 6) == round(expected["today"], 6)
    assert round(stats["cost"]["month"], 6) == round(expected["month"], 6)
    assert round(stats["cost"]["total"], 6) == round(expected["total"], 6)
    assert stats["invocations"] == len(ZONED) and stats["undated"] == 0


def test_an_odd_offset_that_crosses_midnight_is_counted_on_the_right_day(tmp_path):
    # +00:07: the 15-minute bucket 00:00-00:15 written in it spans 23:53 to 00:08 UTC.
    path = create(
        tmp_path / "t.db",
        "spec",
        [row("2026-02-06T00:05:00+00:07", 1.0), row("2026-02-06T00:10:00+00:07", 2.0)],
    )
    daily = {d["date"]: d["cost"] for d in loaded(path).get_stats()["daily"]}
    assert daily["2026-02-05"] == 1.0 and daily["2026-02-06"] == 2.0


def test_unix_second_timestamps_follow_the_zone(tmp_path):
    path = tmp_path / "t.db"
    start = datetime(2026, 2, 5, 18, 15, tzinfo=UTC).timestamp()  # Kathmandu midnight
    conn = sqlite3.connect(path)
    with conn:  # a timestamp column without type keeps numbers as numbers
        conn.execute(
            "CREATE TABLE invocations (id INTEGER PRIMARY KEY, timestamp, tool TEXT,"
            " model TEXT, tokens INTEGER, cost REAL, latency_ms INTEGER, status TEXT)"
        )
        for ts, cost in ((start - 1, 1.0), (start, 2.0), (start + 0.5, 4.0)):
            conn.execute(
                "INSERT INTO invocations (timestamp, tool, model, cost) VALUES (?, 't', 'm', ?)",
                (ts, cost),
            )
    conn.close()
    daily = {d["date"]: d["cost"] for d in loaded(path, "Asia/Kathmandu").get_stats()["daily"]}
    assert daily["2026-02-05"] == 1.0 and daily["2026-02-06"] == 6.0


def test_an_in_place_update_that_keeps_count_and_cost_is_shown(tmp_path):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T01:00:00Z", 1.0)] * 3)
    svc = loaded(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE invocations SET total_tokens = 1000000, model_name = 'renamed',"
            " status = 'error' WHERE id = 2"
        )
    conn.close()
    assert svc.poll() is True
    stats = svc.get_stats()
    assert stats["tokens"] == 1000200 and stats["success_rate"] == round(2 / 3, 6)
    assert {m["model"] for m in stats["models"]} == {"gpt-4o", "renamed"}


def test_on_a_large_file_updates_are_re_aggregated_in_the_background(tmp_path):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T01:00:00Z", 1.0)] * 50)
    svc = TelemetryService(clock=lambda: NOW)
    svc.sync_verify_rows = 0  # treat this file as a big one
    svc.configure(path, "UTC", background=False)
    pushes = []
    svc.start_watching(lambda: pushes.append(svc.get_stats()))
    try:
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("UPDATE invocations SET model_name = 'renamed' WHERE id = 7")
        with conn:
            conn.execute("DELETE FROM invocations WHERE id = 9")
        conn.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            stats = svc.get_stats()
            if stats["invocations"] == 49 and any(m["model"] == "renamed" for m in stats["models"]):
                break
            time.sleep(0.05)
        assert stats["invocations"] == 49 and stats["cost"]["total"] == 49.0
        assert {m["model"]: m["invocations"] for m in stats["models"]}["renamed"] == 1
        assert pushes and pushes[-1]["invocations"] == 49  # and the board was told
    finally:
        svc.stop()


def test_health_says_loading_until_the_first_figures_and_then_they_are_pushed(tmp_path):
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T01:00:00Z", 1.0)] * 5)
    svc = TelemetryService(clock=lambda: NOW)
    pushed = threading.Event()
    svc.start_watching(pushed.set)
    try:
        with svc._lock:  # hold the reader back, as a long first aggregation would
            svc.configure(path, "UTC")
            assert svc.health() == "loading" and svc.get_stats()["state"] == "loading"
        assert pushed.wait(5)
        assert svc.health() == "ok" and svc.get_stats()["cost"]["total"] == 5.0
    finally:
        svc.stop()


def test_the_reader_imports_nothing_of_django():
    code = (
        "import sys, telemetry.service, telemetry.aggregate, telemetry.groups, telemetry.watch;"
        " bad = [m for m in sys.modules if m.split('.')[0] == 'django'];"
        " assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
