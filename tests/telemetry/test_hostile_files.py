"""Hostile rows and files (security review findings 5, 9, 13, 14, 27): never a crash, a hang
or a silent freeze; always a clear state."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from telemetry.schema import read_schema, view_sql
from telemetry.service import TelemetryService
from telemetry.timestamps import utc_text
from tests.telemetry.builders import create, insert, row

NOW = datetime(2026, 2, 6, 15, 0, tzinfo=timezone.utc)


def loaded(path: Path, tz: str = "UTC") -> TelemetryService:
    svc = TelemetryService(clock=lambda: NOW)
    svc.configure(path, tz, background=False)
    return svc


def raw_insert(
    path: Path,
    cost: object,
    tokens: object = 1,
    latency: object = 1,
    ts: str = "2026-02-06T10:00:00Z",
) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO invocations (invocation_id, timestamp, agent_name, tool_name, model_name,"
            " total_tokens, cost_usd, latency_ms, status) VALUES (hex(randomblob(8)), ?, 'a', 't',"
            " 'm', ?, ?, ?, 'success')",
            (ts, tokens, cost, latency),
        )
    conn.close()


def finite_json(stats: dict) -> None:
    json.dumps(stats, allow_nan=False)


@pytest.mark.parametrize(
    "costs",
    [["Infinity"], [float("inf")], [1e308, 1e308], ["1e999"], [b"\x00blob"], ["NaN"]],
    ids=["text-infinity", "real-infinity", "two-1e308", "text-1e999", "blob", "text-nan"],
)
def test_an_infinite_absurd_or_odd_cost_counts_as_zero_and_nothing_breaks(tmp_path, costs):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T09:00:00Z", 0.25)])
    for cost in costs:
        raw_insert(path, cost)
    svc = loaded(path)
    stats = svc.get_stats()
    assert stats["state"] == "ok" and stats["invocations"] == 1 + len(costs)
    assert stats["cost"] == {"today": 0.25, "month": 0.25, "total": 0.25}
    finite_json(stats)


def test_infinite_latencies_and_nan_or_infinite_tokens_never_freeze_the_figures(tmp_path):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T09:00:00Z", 0.25)])
    raw_insert(path, 0.5, tokens="nan", latency=float("inf"))
    raw_insert(path, 0.5, tokens=float("inf"), latency="Infinity")
    svc = loaded(path)
    raw_insert(path, 1.0)  # a later row still counts
    assert svc.poll() is True
    stats = svc.get_stats()
    assert stats["state"] == "ok" and stats["cost"]["total"] == 2.25
    assert stats["tokens"] == 101 and stats["latency_ms"]["avg"] == 100.5  # (200 + 1) / 2
    finite_json(stats)


def test_out_of_range_timestamps_are_in_no_day_and_later_rows_still_count(tmp_path):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T09:00:00Z", 0.25)])
    svc = loaded(path)
    insert(
        path,
        "llm",
        [row("0001-01-01T00:00:00+05:00", 1.0), row("9999-12-31T23:59:59-05:00", 2.0)],
    )
    assert svc.poll() is True
    insert(path, "llm", [row("2026-02-06T10:00:00Z", 4.0)])
    assert svc.poll() is True
    stats = svc.get_stats()
    assert stats["state"] == "ok" and stats["undated"] == 2
    assert stats["cost"]["today"] == 4.25 and stats["cost"]["total"] == 7.25
    # and from a fresh start too
    fresh = loaded(path).get_stats()
    assert fresh["state"] == "ok" and fresh["cost"]["total"] == 7.25


def test_an_unexpected_error_becomes_an_error_state_logged_once(tmp_path, monkeypatch, caplog):
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T09:00:00Z", 0.25)])
    svc = loaded(path)

    def boom(*args, **kwargs):
        raise RuntimeError("a value nobody foresaw")

    monkeypatch.setattr("telemetry.service.aggregate", boom)
    caplog.set_level(logging.ERROR, logger="telemetry")
    insert(path, "spec", [row("2026-02-06T10:00:00Z", 1.0)])
    assert svc.poll() is True
    for _ in range(3):
        svc.poll()
    stats = svc.get_stats()
    assert stats["state"] == "error" and "a value nobody foresaw" in stats["message"]
    assert stats["cost"]["total"] == 0.25  # the last figures stay beside the message
    assert sum(1 for r in caplog.records if r.exc_info) == 1
    monkeypatch.undo()
    assert svc.poll() is True
    assert svc.get_stats()["state"] == "ok" and svc.get_stats()["cost"]["total"] == 1.25


def test_the_drill_down_view_coerces_blob_costs_and_drops_impossible_dates(tmp_path):
    path = create(tmp_path / "t.db", "llm", [])
    raw_insert(path, b"\x01\x02", ts="0001-01-01T00:00:00+05:00")
    raw_insert(path, float("inf"), ts="9999-12-31T23:59:59-05:00")
    raw_insert(path, 0.5)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.create_function("tm_utc", 1, utc_text)
    conn.execute(view_sql(read_schema(conn)))
    got = conn.execute("SELECT timestamp, cost, raw_cost FROM tm_invocation ORDER BY id").fetchall()
    assert got == [
        (None, 0.0, None),
        (None, 0.0, float("inf")),
        ("2026-02-06 10:00:00.000", 0.5, 0.5),
    ]


def test_a_fifo_in_place_of_the_file_is_an_error_never_a_hang_and_it_recovers(tmp_path):
    path = create(tmp_path / "t.db", "spec", [row("2026-02-06T09:00:00Z", 0.25)])
    svc = loaded(path)
    os.rename(path, tmp_path / "t.db.bak")
    os.mkfifo(path)
    done = threading.Event()
    threading.Thread(target=lambda: (svc.poll(), done.set()), daemon=True).start()
    assert done.wait(5), "poll() blocked on the FIFO"
    stats = svc.get_stats()
    assert stats["state"] == "error" and "FIFO" in stats["message"]
    assert stats["cost"]["total"] == 0.25
    os.remove(path)
    os.rename(tmp_path / "t.db.bak", path)
    assert svc.poll() is True
    assert svc.get_stats()["state"] == "ok"


def test_a_fifo_at_start_is_reported_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "t.db")
    svc = TelemetryService(clock=lambda: NOW)
    svc.configure(tmp_path / "t.db", "UTC")
    assert svc.wait_loaded(5)
    assert svc.get_stats()["state"] == "error" and svc.health() == "error"


def test_a_new_cost_column_beside_cost_usd_does_not_take_the_figures_over(tmp_path):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T09:00:00Z", 0.25)])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("ALTER TABLE invocations ADD COLUMN cost REAL")
        conn.execute("ALTER TABLE invocations ADD COLUMN tokens INTEGER")
    conn.close()
    stats = loaded(path).get_stats()
    assert stats["state"] == "ok" and stats["schema"] == "llm"
    assert stats["cost"]["total"] == 0.25 and stats["tokens"] == 100


def test_a_view_named_invocations_is_a_clear_error_not_zero_rows(tmp_path):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T09:00:00Z", 0.25)])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("ALTER TABLE invocations RENAME TO real_invocations")
        conn.execute("CREATE VIEW invocations AS SELECT * FROM real_invocations")
    conn.close()
    stats = loaded(path).get_stats()
    assert stats["state"] == "error" and "view" in stats["message"]


def test_the_drill_down_connection_refuses_a_fifo_without_blocking(tmp_path, django_db_blocker):
    from django.db import OperationalError, connections

    from telemetry import db

    before = connections.settings[db.ALIAS]["NAME"]
    os.mkfifo(tmp_path / "t.db")
    db.point_alias(tmp_path / "t.db")
    result: list[object] = []

    def connect() -> None:
        try:
            connections[db.ALIAS].ensure_connection()
        except OperationalError as exc:
            result.append(exc)
        finally:
            connections[db.ALIAS].close()

    with django_db_blocker.unblock():
        thread = threading.Thread(target=connect, daemon=True)
        thread.start()
        thread.join(5)
    db.point_alias(Path(before))
    assert not thread.is_alive(), "the connection blocked on the FIFO"
    assert result and "FIFO" in str(result[0])
