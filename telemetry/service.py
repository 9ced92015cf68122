"""The process-wide telemetry reader: aggregate once, then follow new rows.

`configure()` points it at a file and starts the first aggregation in a background thread;
`get_stats()` answers from memory; `start_watching(on_change)` follows the file (watchdog on
its directory plus a 0.5 s stat poll) and calls `on_change()` when the figures changed.
No Django imports here: the Django edges (views, admin, the connection alias) live elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import sqlite as ro
from .aggregate import Aggregates, base_stats, empty_base, timed_stats
from .schema import Schema, SchemaError, read_schema, select_sql
from .timestamps import UTC

log = logging.getLogger("telemetry")

BATCH = 50_000  # rows per read transaction: short reads never hold a writer back for long
POLL_INTERVAL_S = 0.5
VERIFY_INTERVAL_S = 10.0  # how often, at most, we recount rows to catch DELETEs
WATCHED_SUFFIXES = ("", "-wal", "-journal")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use a name like UTC or Europe/Berlin)"
        ) from None


class TelemetryService:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()  # one refresh at a time
        self.path: Path | None = None
        self.tz: ZoneInfo = ZoneInfo("UTC")
        self.time_zone = "UTC"
        self._agg: Aggregates | None = None
        self._schema: Schema | None = None
        self._inode: int | None = None
        self._sig: tuple | None = None
        self._last_verify = 0.0
        self._unverified = True
        self._state = "loading"
        self._message = ""
        self._stale = False
        self._updated_at: datetime | None = None
        self._base = empty_base()
        self._loaded = threading.Event()
        self._generation = 0
        # watcher
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._on_change: Callable[[], None] | None = None
        self.watch_mode = "stopped"

    # -- setup ---------------------------------------------------------------------------
    def configure(self, db_path: Path, time_zone: str = "UTC", *, background: bool = True) -> None:
        """Point at a file; never blocks (the first aggregation runs in a thread)."""
        tz = zone(time_zone)
        with self._lock:
            self._generation += 1
            self.path = Path(db_path)
            self.tz, self.time_zone = tz, time_zone
            self._reset("loading", "")
            self._loaded.clear()
            generation = self._generation
        if background:
            threading.Thread(
                target=self._initial_load, args=(generation,), name="telemetry-load", daemon=True
            ).start()
        else:
            self._initial_load(generation)
        if self._thread is not None:
            self._restart_observer()

    def _initial_load(self, generation: int) -> None:
        try:
            with self._lock:
                if generation == self._generation:
                    self.refresh(force=True)
        except Exception:
            log.exception("telemetry: first aggregation failed")
        finally:
            if generation == self._generation:
                self._loaded.set()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)

    def _reset(self, state: str, message: str) -> None:
        self._agg = None
        self._schema = None
        self._inode = None
        self._sig = None
        self._state, self._message, self._stale = state, message, False
        self._base = empty_base()
        self._updated_at = None

    # -- reading -------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> bool:
        """Read what changed; True when the figures (or the state shown) changed."""
        with self._lock:
            if self.path is None:
                return False
            before = (self._state, self._message, self._stale, self._agg and self._agg.max_rowid)
            try:
                self._refresh(force)
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if "locked" in text or "busy" in text:
                    # Keep the last values; say so. The next change or poll tries again.
                    self._stale = True
                    self._sig = None
                    self._message = "Telemetry database is busy (locked); showing the last values."
                    log.warning("telemetry: %s, keeping the last values", text)
                elif not self.path.exists():
                    self._to_missing()
                else:
                    self._to_error(text)
            except (sqlite3.DatabaseError, SchemaError) as exc:
                self._to_error(str(exc))
            after = (self._state, self._message, self._stale, self._agg and self._agg.max_rowid)
            return before != after or bool(self._changed_rows)

    _changed_rows = 0

    def _to_missing(self) -> None:
        if self._state != "missing":
            log.info("telemetry: %s does not exist (yet)", self.path)
        self._reset("missing", f"No telemetry database at {self.path} yet.")

    def _to_error(self, text: str) -> None:
        message = f"Telemetry database {self.path} cannot be read: {text}."
        if self._message != message:
            log.error("telemetry: %s", message)
        # Keep the last figures on screen, with the message beside them.
        self._state, self._message, self._stale = "error", message, False
        self._sig = None

    def _refresh(self, force: bool) -> None:
        self._changed_rows = 0
        path = self.path
        assert path is not None
        if not path.exists():
            self._to_missing()
            return
        sig = ro.signature(path)
        now = time.monotonic()
        if sig != self._sig:
            self._unverified = True
        # UPDATEs and DELETEs of old rows are invisible to "rowid > last"; a recount (cheap for
        # small files, ~0.1 s at a million rows, so at most every VERIFY_INTERVAL_S) catches them.
        small = self._agg is None or self._agg.total.count < 100_000
        verify = self._unverified and (small or now - self._last_verify > VERIFY_INTERVAL_S)
        if not force and not verify and sig == self._sig and self._state == "ok":
            return
        inode = ro.inode(path)
        conn = ro.open_readonly(path)
        try:
            schema = read_schema(conn)
            if schema is None:  # a fresh, empty file: nothing to show yet
                self._reset("missing", f"Telemetry database {path} has no invocations table yet.")
                self._sig = sig
                return
            agg = self._agg
            full = force or agg is None or schema != self._schema or inode != self._inode
            (max_rowid,) = conn.execute("SELECT max(rowid) FROM main.invocations").fetchone()
            if agg is not None and (max_rowid or 0) < agg.max_rowid:
                full = True  # rows deleted or the file replaced: start over
            if full:
                agg = Aggregates(self.tz)
            assert agg is not None
            added = self._read_new(conn, schema, agg)
            if full:
                self._last_verify, self._unverified = time.monotonic(), False
            if not full and verify and not added:
                # Only when no new rows came in: new rows are shown first, verified next tick.
                cost_sql = schema.expr("cost")
                count, cost = conn.execute(
                    f"SELECT count(*), total(CASE WHEN {cost_sql} > 0 THEN {cost_sql} ELSE 0 END)"
                    " FROM main.invocations"
                ).fetchone()
                self._last_verify, self._unverified = now, False
                if count != agg.total.count or abs(cost - agg.total.cost) > 1e-6 * max(1, cost):
                    log.info("telemetry: rows changed or vanished behind our back; re-aggregating")
                    agg = Aggregates(self.tz)
                    added = self._read_new(conn, schema, agg)
                    full = True
        finally:
            conn.close()
        if full or added or self._state != "ok" or self._stale:
            self._agg, self._schema, self._inode = agg, schema, inode
            self._base = base_stats(agg)
            self._base["schema"] = schema.kind
            self._base["has_agent"] = schema.has_agent
            self._changed_rows = added if not full else max(added, 1)
        self._sig = sig
        self._state, self._message, self._stale = "ok", "", False
        self._updated_at = self._clock()

    def _read_new(self, conn: sqlite3.Connection, schema: Schema, agg: Aggregates) -> int:
        sql = select_sql(schema) + " WHERE rowid > ? ORDER BY rowid LIMIT ?"
        added = 0
        while True:
            rows = conn.execute(sql, (agg.max_rowid, BATCH)).fetchall()
            if not rows:
                return added
            added += agg.add_rows(rows)
            if len(rows) < BATCH:
                return added

    # -- answers -------------------------------------------------------------------------
    def get_stats(self, now: datetime | None = None) -> dict:
        """The /api/stats dict (CONTRACT section 4) plus extras; in-memory, no I/O."""
        base = self._base  # one reference read: a refresh swaps in a new dict
        stats = {
            "state": self._state,
            "message": self._message,
            "stale": self._stale,
            "time_zone": self.time_zone,
            "schema": base.get("schema"),
            "has_agent": bool(base.get("has_agent")),
            "updated_at": self._updated_at.isoformat() if self._updated_at else None,
            "tokens": base["tokens"],
            "invocations": base["invocations"],
            "avg_cost": base["avg_cost"],
            "models": base["models"],
            "agents": base["agents"],
            "tools": base["tools"],
            "statuses": base["statuses"],
            "latency_ms": base["latency_ms"],
            "success_rate": base["success_rate"],
            "undated": base["undated"],
            "negative_costs": base["negative_costs"],
        }
        stats.update(timed_stats(base, now or self._clock(), self.tz))
        return stats

    def days(self) -> dict[str, tuple]:
        """Every day with invocations (dashboard zone) -> (cost, tokens, invocations)."""
        return dict(self._base["by_day"])

    def health(self) -> str:
        return {"ok": "ok", "loading": "ok"}.get(self._state, self._state)

    @property
    def state(self) -> str:
        return self._state

    @property
    def schema(self) -> Schema | None:
        return self._schema

    # -- watching ------------------------------------------------------------------------
    def poll(self) -> bool:
        return self.refresh()

    def start_watching(self, on_change: Callable[[], None] | None = None) -> None:
        """A daemon thread: wakes on watchdog events for the file (or every 0.5 s), refreshes,
        and calls on_change() from that thread when the figures changed (or the day rolled
        over, which changes "today"). Every exception is caught and logged."""
        self._on_change = on_change
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="telemetry-watch", daemon=True)
        self._thread.start()
        self._restart_observer()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._stop_observer()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self.watch_mode = "stopped"

    def _run(self) -> None:
        last_day: date | None = None
        while not self._stop.is_set():
            self._wake.wait(POLL_INTERVAL_S)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if not self._loaded.is_set():
                    continue  # the first aggregation is still running
                changed = self.refresh()
                today = self._clock().astimezone(self.tz).date()
                if last_day is not None and today != last_day:
                    changed = True
                last_day = today
                if changed and self._on_change is not None:
                    self._on_change()
            except Exception:
                log.exception("telemetry watcher: refresh or on_change failed")

    def _restart_observer(self) -> None:
        self._stop_observer()
        if self.path is None or self._thread is None:
            return
        directory = self.path.resolve().parent
        if not directory.is_dir():
            self.watch_mode = "polling"
            return
        try:
            from watchdog.events import (
                FileClosedEvent,
                FileCreatedEvent,
                FileDeletedEvent,
                FileModifiedEvent,
                FileMovedEvent,
                FileSystemEventHandler,
            )
            from watchdog.observers import Observer

            names = {self.path.name + s for s in WATCHED_SUFFIXES}
            wake = self._wake

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event) -> None:  # type: ignore[no-untyped-def]
                    try:
                        for p in (event.src_path, getattr(event, "dest_path", "")):
                            if p and Path(str(p)).name in names:
                                wake.set()
                                return
                    except Exception:
                        log.exception("telemetry watcher: bad event %r", event)

            observer = Observer()
            # Opens and reads (ours included) are not changes; see STYLE.md on watchdog 7.
            observer.schedule(
                Handler(),
                str(directory),
                recursive=False,
                event_filter=[
                    FileCreatedEvent,
                    FileModifiedEvent,
                    FileDeletedEvent,
                    FileMovedEvent,
                    FileClosedEvent,
                ],
            )
            observer.daemon = True
            observer.start()
            self._observer = observer
            self.watch_mode = "running"
        except Exception:
            log.exception(
                "telemetry watcher: cannot watch %s, polling every %ss", directory, POLL_INTERVAL_S
            )
            self.watch_mode = "polling"

    def _stop_observer(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            try:
                observer.stop()
                observer.join(2)
            except Exception:
                log.exception("telemetry watcher: stopping the observer failed")


# -- the process-wide singleton -------------------------------------------------------------
service = TelemetryService()


def configure(db_path: Path, time_zone: str = "UTC") -> None:
    service.configure(db_path, time_zone)
    _point_django_alias(db_path)


def get_stats() -> dict:
    return service.get_stats()


def health() -> str:
    return service.health()


def poll() -> bool:
    return service.poll()


def start_watching(on_change: Callable[[], None] | None = None) -> None:
    service.start_watching(on_change)


def stop() -> None:
    service.stop()


def _point_django_alias(db_path: Path) -> None:
    # The one Django-aware line in this module, imported lazily so the domain stays
    # importable (and testable) without Django settings.
    try:
        from .db import point_alias
    except Exception:  # Django not configured: plain-Python use
        return
    point_alias(db_path)
