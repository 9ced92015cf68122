"""The process-wide telemetry reader: aggregate once, then follow the file.

`configure()` points it at a file and starts the first aggregation in a background thread;
`get_stats()` answers from memory; `start_watching(on_change)` follows the file (watchdog on
its directory, see telemetry.watch, plus a poll: 0.5 s, or 2 s while watched and settled)
and calls `on_change()` when the figures changed. No Django here: the connection alias is
pointed by telemetry.db.

How changes are seen: one connection stays open and asks SQLite's `PRAGMA data_version`,
which changes when any other connection commits. Then rows above the last rowid are summed
at once (new rows show within a poll); and because a commit may also have UPDATEd or DELETEd
old rows, a background thread re-aggregates the whole file on its own connection and the
result replaces the figures (with the rows that arrived meanwhile added) when it differs.
A commit seen early in a re-aggregation restarts it, so a change shows about one aggregation
time later (2-4 s at 1M rows here); under a writer that never stops, the re-aggregations run
back to back (the price of seeing in-place UPDATEs; files under SYNC_VERIFY_ROWS are simply
re-read within the poll).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import sqlite as ro
from .aggregate import Aggregates, base_stats, empty_base, timed_stats
from .groups import read_groups, refine
from .schema import Schema, SchemaError, read_schema
from .timestamps import UTC
from .watch import FileWatch

log = logging.getLogger("telemetry")

POLL_INTERVAL_S = 0.5
# While inotify watches the file's directory and nothing is pending, the poll is only a safety
# net (a writer on another machine of a network filesystem): an idle dashboard barely wakes.
WATCHED_POLL_INTERVAL_S = 2.0
VERIFY_MIN_GAP_S = 0.25  # between the end of one re-aggregation and the start of the next
# A commit seen while a re-aggregation is in its first 80 % restarts it (at most twice in a
# row, so a busy writer cannot starve it): a change then shows one aggregation time later.
RESTART_BEFORE = 0.8
MAX_RESTARTS = 2
# Below this many rows a re-aggregation takes milliseconds: do it at once, in the poll.
SYNC_VERIFY_ROWS = 50_000


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use a name like UTC or Europe/Berlin)"
        ) from None


def aggregate(
    conn: sqlite3.Connection,
    schema: Schema,
    agg: Aggregates,
    helper: sqlite3.Connection | None = None,
) -> int:
    """Add every row above agg.max_rowid; returns how many. `helper`: see read_groups."""
    groups = read_groups(conn, schema, agg.max_rowid, helper=helper)
    after = agg.max_rowid
    return agg.add_groups(groups, lambda keys: refine(conn, schema, keys, after, groups.max_rowid))


class TelemetryService:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()  # one refresh at a time
        self.path: Path | None = None
        self.tz: ZoneInfo = ZoneInfo("UTC")
        self.time_zone = "UTC"
        self._agg: Aggregates | None = None
        self._schema: Schema | None = None
        self._days: dict = {}  # shared day cache of this zone (see Aggregates)
        self._conn: sqlite3.Connection | None = None
        self._conn_sig: tuple | None = None
        self._agg_sig: tuple | None = None  # the file (dev, inode) the figures come from
        self._data_version: int | None = None
        self._state = "missing"  # until configure(): then "loading" until the first figures
        self._message = ""
        self._stale = False
        self._updated_at: datetime | None = None
        self._base = empty_base()
        self._loaded = threading.Event()
        self._generation = 0
        self._logged: str | None = None
        # re-aggregation in the background
        self._verify_pending = False
        self._verify_thread: threading.Thread | None = None
        self._verified: tuple | None = None
        self._next_verify_at = 0.0
        self.last_verify_s: float | None = None
        self._verify_started = 0.0
        self._verify_conns: list[sqlite3.Connection] = []
        self._restarts = 0
        self.sync_verify_rows = SYNC_VERIFY_ROWS
        # watcher
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: FileWatch | None = None
        self._on_change: Callable[[], None] | None = None
        self._listeners: list[Callable[[], None]] = []

    @property
    def watch_mode(self) -> str:
        return self._watch.mode if self._watch is not None else "stopped"

    # -- setup ---------------------------------------------------------------------------
    def configure(self, db_path: Path, time_zone: str = "UTC", *, background: bool = True) -> None:
        """Point at a file; never blocks (the first aggregation runs in a thread)."""
        tz = zone(time_zone)
        with self._lock:
            self._generation += 1
            self.path = Path(db_path)
            if time_zone != self.time_zone:
                self._days = {}
            self.tz, self.time_zone = tz, time_zone
            self._drop_connection()
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
            self._start_watch()

    def _initial_load(self, generation: int) -> None:
        try:
            with self._lock:
                if generation == self._generation:
                    self.refresh(force=True)
        finally:
            if generation == self._generation:
                self._loaded.set()
                # The board shows "Loading…" until told: push the first figures now.
                self._notify()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)

    def _reset(self, state: str, message: str) -> None:
        self._agg = None
        self._schema = None
        self._agg_sig = None
        self._data_version = None
        self._verify_pending = False
        self._verified = None
        self._state, self._message, self._stale = state, message, False
        self._base = empty_base()
        self._updated_at = None

    def _drop_connection(self) -> None:
        conn, self._conn, self._conn_sig = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("telemetry: closing the connection failed", exc_info=True)

    # -- reading -------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> bool:
        """Read what changed; True when the figures (or the state shown) changed."""
        with self._lock:
            if self.path is None:
                return False
            before = (self._state, self._message, self._stale, self._base)
            try:
                self._refresh(force)
            except ro.NotARegularFile as exc:
                self._drop_connection()
                self._to_error(f"{exc} (expected an SQLite file)")
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if "locked" in text or "busy" in text:
                    # Keep the last values; say so. The next change or poll tries again.
                    self._stale = True
                    self._message = "Telemetry database is busy (locked); showing the last values."
                    log.warning("telemetry: %s, keeping the last values", text)
                else:
                    self._drop_connection()
                    if not self.path.exists():
                        self._to_missing()
                    else:
                        self._to_error(text)
            except (sqlite3.DatabaseError, SchemaError) as exc:
                self._drop_connection()
                self._to_error(str(exc))
            except Exception as exc:
                # A bug or a value nobody foresaw: say so once, never a traceback per poll.
                self._drop_connection()
                message = f"{type(exc).__name__}: {exc}"
                if self._logged != message:
                    log.exception("telemetry: reading the file failed")
                self._to_error(message)
            self._maybe_verify()
            after = (self._state, self._message, self._stale, self._base)
            return any(a is not b and a != b for a, b in zip(before, after, strict=True))

    def _to_missing(self) -> None:
        if self._state != "missing":
            log.info("telemetry: %s does not exist (yet)", self.path)
        self._reset("missing", "No telemetry database yet.")

    def _to_error(self, text: str) -> None:
        message = f"Telemetry database cannot be read: {text}."
        if self._logged != text:
            log.error("telemetry: %s: %s", self.path, message)
            self._logged = text
        # Keep the last figures on screen, with the message beside them.
        self._state, self._message, self._stale = "error", message, False
        self._data_version = None

    def _refresh(self, force: bool) -> None:
        path = self.path
        assert path is not None
        try:
            ro.check_regular(path)
        except FileNotFoundError:
            self._drop_connection()
            self._to_missing()
            return
        sig = ro.signature(path)
        if self._conn is None or sig != self._conn_sig:
            # A new file, or a writer came or went (WAL side files): open it afresh.
            self._drop_connection()
            self._conn, self._conn_sig = ro.open_for_sums(path), sig
            self._data_version = None  # each connection counts from its own start
        conn = self._conn
        version = ro.data_version(conn)
        verified, self._verified = self._verified, None
        quiet = version == self._data_version and self._state == "ok" and not self._stale
        if quiet and not force and verified is None:
            return
        schema = read_schema(conn)
        if schema is None:  # a fresh, empty file: nothing to show yet
            self._reset("missing", "The telemetry database has no invocations table yet.")
            self._data_version = version
            return
        agg = self._agg
        full = force or agg is None or schema != self._schema or sig[0] != self._agg_sig
        if not full and verified is not None:
            generation, v_sig, v_schema, v_agg = verified
            if (generation, v_sig[0], v_schema) == (self._generation, sig[0], schema):
                agg = v_agg
        (max_rowid,) = conn.execute("SELECT max(rowid) FROM main.invocations").fetchone()
        if agg is not None and (max_rowid or 0) < agg.max_rowid:
            full = True  # rows deleted at the end: start over
        changed = version != self._data_version
        if changed and agg is not None and agg.total.count < self.sync_verify_rows:
            full = True  # old rows may have changed, and reading them all is cheap
        if full:
            agg = Aggregates(self.tz, self._days)
            self._verify_pending = False
        elif changed:
            self._verify_pending = True  # old rows may have changed too
            self._restart_early_verify()
        assert agg is not None
        previous = self._agg
        if full:
            helper = ro.open_for_sums(path)
            try:
                aggregate(conn, schema, agg, helper)
            finally:
                helper.close()
        else:
            aggregate(conn, schema, agg)
        agg.log_notes(previous if agg is not previous else None)
        self._data_version = version
        self._agg, self._schema, self._agg_sig = agg, schema, sig[0]
        base = base_stats(agg)
        base["schema"] = schema.kind
        base["has_agent"] = schema.has_agent
        if base != self._base or self._state != "ok":
            self._base = base
            self._updated_at = self._clock()
        self._state, self._message, self._stale = "ok", "", False
        self._logged = None

    # -- re-aggregating in the background (UPDATEs and DELETEs of old rows) ----------------
    def _maybe_verify(self) -> None:
        if (
            not self._verify_pending
            or self._state != "ok"
            or time.monotonic() < self._next_verify_at
            or (self._verify_thread is not None and self._verify_thread.is_alive())
            or self.path is None
            or self._conn_sig is None
            or self._schema is None
        ):
            return
        self._verify_pending = False
        args = (self._generation, self.path, self._conn_sig, self._schema, self.tz, self._days)
        self._verify_thread = threading.Thread(
            target=self._verify, args=args, name="telemetry-verify", daemon=True
        )
        self._verify_thread.start()

    def _restart_early_verify(self) -> None:
        running = self._verify_thread is not None and self._verify_thread.is_alive()
        if not running or self.last_verify_s is None or self._restarts >= MAX_RESTARTS:
            return
        if time.monotonic() - self._verify_started < RESTART_BEFORE * self.last_verify_s:
            self._restarts += 1
            for conn in list(self._verify_conns):
                conn.interrupt()  # thread-safe; the thread then sees "interrupted"

    def _verify(
        self, generation: int, path: Path, sig: tuple, schema: Schema, tz: ZoneInfo, days: dict
    ) -> None:
        started = self._verify_started = time.monotonic()
        interrupted = False
        try:
            conn = ro.open_for_sums(path)
            helper = ro.open_for_sums(path)
            self._verify_conns = [conn, helper]
            try:
                if ro.signature(path)[0] != sig[0] or read_schema(conn) != schema:
                    return  # the file itself changed: the watcher starts over on its own
                agg = Aggregates(tz, days)
                aggregate(conn, schema, agg, helper)
            finally:
                self._verify_conns = []
                conn.close()
                helper.close()
            self._verified = (generation, sig, schema, agg)
            self._restarts = 0
            self._wake.set()
        except sqlite3.OperationalError as exc:
            interrupted = "interrupt" in str(exc)
            if not interrupted:
                log.warning("telemetry: re-aggregation failed (%s); trying again", exc)
            self._verify_pending = True
            self._wake.set()
        except Exception as exc:
            log.warning("telemetry: re-aggregation failed (%s); trying again", exc)
            self._verify_pending = True
        finally:
            took = time.monotonic() - started
            if not interrupted:
                self.last_verify_s = took
            gap = 0.0 if interrupted else max(VERIFY_MIN_GAP_S, 0.1 * took)
            self._next_verify_at = time.monotonic() + gap

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
        }
        for key in (
            "tokens",
            "invocations",
            "avg_cost",
            "models",
            "models_more",
            "agents",
            "agents_more",
            "tools",
            "tools_more",
            "statuses",
            "statuses_more",
            "latency_ms",
            "success_rate",
            "undated",
            "null_costs",
            "negative_costs",
            "odd_values",
        ):
            stats[key] = base[key]
        stats.update(timed_stats(base, now or self._clock(), self.tz))
        return stats

    def agent_last_active(self) -> dict[str, float]:
        """Agent -> when its latest call was (seconds since the epoch; to the quarter hour)."""
        return dict(self._base.get("agent_last", {}))

    def days(self) -> dict[str, tuple]:
        """Every day with invocations (dashboard zone) -> (cost, tokens, invocations)."""
        return dict(self._base["by_day"])

    def health(self) -> str:
        return self._state

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
        self._start_watch()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        for conn in list(self._verify_conns):
            conn.interrupt()  # a re-aggregation in flight ends now
        if self._watch is not None:
            self._watch.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        with self._lock:
            self._drop_connection()

    def _start_watch(self) -> None:
        if self._watch is not None:
            self._watch.stop()
        self._watch = None
        if self.path is not None and self._thread is not None:
            self._watch = FileWatch(self.path, self._wake)
            self._watch.start()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Another callable told of every change, after on_change (from the same thread)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self) -> None:
        for callback in (self._on_change, *self._listeners):
            if callback is None:
                continue
            try:
                callback()
            except Exception:
                log.exception("telemetry: on_change failed")

    def _poll_interval(self) -> float:
        settled = (
            self._loaded.is_set()
            and self._state in ("ok", "missing")
            and not self._verify_pending
            and not (self._verify_thread is not None and self._verify_thread.is_alive())
            and self.watch_mode == "running"
        )
        if not settled:
            return POLL_INTERVAL_S
        try:  # never sleep through local midnight: "today" must turn over on time
            now = self._clock().astimezone(self.tz)
            midnight = datetime.combine(now.date() + timedelta(days=1), time_of_day(), now.tzinfo)
            to_midnight = (midnight - now).total_seconds() + 0.01
        except (OverflowError, ValueError):
            return POLL_INTERVAL_S
        return max(0.01, min(WATCHED_POLL_INTERVAL_S, to_midnight))

    def _run(self) -> None:
        last_day: date | None = None
        while not self._stop.is_set():
            self._wake.wait(self._poll_interval())
            self._wake.clear()
            if self._stop.is_set():
                break
            if not self._loaded.is_set():
                continue  # the first aggregation is still running
            changed = self.refresh()  # catches everything itself
            today: date | None
            try:
                today = self._clock().astimezone(self.tz).date()
            except Exception:
                today = last_day
            if last_day is not None and today != last_day:
                changed = True
            last_day = today
            if changed:
                self._notify()


# -- the process-wide singleton -------------------------------------------------------------
service = TelemetryService()


def configure(db_path: Path, time_zone: str = "UTC") -> None:
    """Point the reader at a file. Django's connection alias: telemetry.db.configure."""
    service.configure(db_path, time_zone)


def get_stats() -> dict:
    return service.get_stats()


def health() -> str:
    return service.health()


def agent_last_active() -> dict[str, float]:
    return service.agent_last_active()


def poll() -> bool:
    return service.poll()


def start_watching(on_change: Callable[[], None] | None = None) -> None:
    service.start_watching(on_change)


def stop() -> None:
    service.stop()
