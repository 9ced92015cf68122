"""The process-wide operations service: the book, the tailer thread and the stopper.

The seam for the page, the WebSocket consumer and `rundashboard`:

    service.start(events_dir, on_change, on_feed)   # returns at once; reads back in the thread
    service.stop()
    service.panel_html()          # the whole `#operations` panel, one element, hx-swap-oob
    service.running_tasks()       # {task_id: live cost in USD} for `data-running` on cards
    service.problems()            # [{"path": "x.jsonl:12", "error": ...}] for `#problems`

`on_change()` is called from the tailer thread, at most once per `coalesce_s` (25 ms), after
any change (events from files or POST /api/events, stop outcomes, lost operations).
`on_feed(FeedItem)` is called from the same thread for each activity entry, before the
`on_change` that shows it. Neither is called for history read back at start.
Only `panel_html` touches Django (templates), and only when called.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import events as ev
from .book import FeedItem, OperationsBook
from .events import EventError, parse_event
from .stopper import Stopper, Timeouts, is_alive
from .tailer import Line, ProblemLog, Tailer
from .wakeup import EventsDirWakeup

log = logging.getLogger("telemetry.operations")

POLL_S = 0.025
# While inotify watches the events dir and nothing has come for a second, the tailer only
# looks this often (a safety net): the watch wakes it at once when a file changes.
IDLE_POLL_S = 1.0
QUIET_AFTER_S = 1.0
# No events dir (yet): look for it this often. Most dashboards have none, and polling for it
# at POLL_S was most of an idle dashboard's CPU; a dir that appears is read within this long.
MISSING_POLL_S = 0.5
# Start-up applies the read-back lines newest first and stops after this long: a huge log
# never delays anything, and the book's rules (latest ts wins, the first ending wins, the
# timeline sorted by ts) make the order of application irrelevant.
READ_BACK_S = 0.3
COALESCE_S = 0.025
SWEEP_S = 5.0
START_EVENTS = tuple(
    name.encode() for name in (ev.STARTED, *(a for a, c in ev.ALIASES.items() if c == ev.STARTED))
)

__all__ = ["FeedItem", "OperationsService", "service"]


class OperationsService:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        timeouts: Timeouts | None = None,
        poll_s: float = POLL_S,
        coalesce_s: float = COALESCE_S,
        read_back_bytes: int | None = None,
    ) -> None:
        self.book = OperationsBook(clock)
        self.problem_log = ProblemLog()
        self.stopper = Stopper(self._stop_outcome, timeouts)
        self.poll_s, self.coalesce_s = poll_s, coalesce_s
        self.read_back_bytes = read_back_bytes
        self.events_dir: Path | None = None
        self.tailer: Tailer | None = None
        self.ready = threading.Event()  # history read back
        self.read_back_s = 0.0
        self.read_back_lines = 0
        self._on_change: Callable[[], None] | None = None
        self._on_feed: Callable[[FeedItem], None] | None = None
        self._feed: list[FeedItem] = []
        self._feed_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._wakeup: EventsDirWakeup | None = None
        self._shown_version = -1
        self._published_at = 0.0

    # -- life ------------------------------------------------------------------------------
    def start(
        self,
        events_dir: Path,
        on_change: Callable[[], None] | None = None,
        on_feed: Callable[[FeedItem], None] | None = None,
    ) -> None:
        """Follow `events_dir` (it may not exist yet). Returns at once."""
        if self._thread is not None:
            raise RuntimeError("the operations service is already running")
        self.events_dir = Path(events_dir)
        self._on_change, self._on_feed = on_change, on_feed
        tailer = Tailer(self.events_dir, problems=self.problem_log)
        if self.read_back_bytes is not None:
            tailer.read_back_bytes = self.read_back_bytes
        self.tailer = tailer
        self._stopping.clear()
        self.ready.clear()
        self._wakeup = EventsDirWakeup(self.events_dir, self._wake.set)
        self._thread = threading.Thread(target=self._run, name="operations-tailer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        if self._wakeup is not None:
            self._wakeup.close()
        self.stopper.close()
        if self.tailer is not None:
            self.tailer.close()

    def _run(self) -> None:
        try:
            self._read_back()
        except Exception:
            log.exception("operations: reading back the events failed")
        self.ready.set()
        last_sweep = last_line = time.monotonic()
        while not self._stopping.is_set():
            try:
                assert self.tailer is not None
                for line in self.tailer.poll():
                    self._take_line(line)
                    last_line = time.monotonic()
                if time.monotonic() - last_sweep > SWEEP_S:
                    last_sweep = time.monotonic()
                    self._queue_feed(self.book.sweep(_alive))
                wait = self._publish()
                quiet = time.monotonic() - last_line > QUIET_AFTER_S
                if quiet and wait >= self.poll_s:
                    if self._wakeup and self._wakeup.ensure():
                        wait = IDLE_POLL_S
                    elif self.tailer.waiting:
                        wait = max(self.poll_s, MISSING_POLL_S)
            except Exception:
                log.exception("operations: tailer loop error (continuing)")
                wait = self.poll_s
            self._wake.wait(wait)
            self._wake.clear()

    def _read_back(self) -> None:
        assert self.tailer is not None
        began = time.perf_counter()
        lines = self.tailer.start()
        now = time.time()
        applied = 0
        for index, line in enumerate(reversed(lines)):
            # Lines without a `ts` get a received time that keeps their order in the file.
            self._take_line(line, feed=False, received_at=now - index * 1e-6)
            applied += 1
            if applied % 256 == 0 and time.perf_counter() - began > READ_BACK_S:
                break
        # Operations still running whose start lies before the window: find their starts.
        missing = {op.id for op in self.book.live_processes() if op.placeholder}

        def found(line: Line) -> bool:
            obj = _decode(line.data)
            op_id = obj.get("operation_id", obj.get("run_id")) if isinstance(obj, dict) else None
            if op_id is not None and str(op_id) in missing:
                self._take_line(line, feed=False)
                missing.discard(str(op_id))
            return not missing

        if missing:
            self.tailer.scan_back(START_EVENTS, found)
        self.read_back_s = time.perf_counter() - began
        self.read_back_lines = applied
        self._shown_version = -1  # the first publish shows what was read back
        with self._feed_lock:
            self._feed.clear()
        log.info(
            "operations: read back %d events from %s in %.0f ms",
            applied,
            self.events_dir,
            self.read_back_s * 1000,
        )

    def _take_line(self, line: Line, feed: bool = True, received_at: float | None = None) -> None:
        obj = _decode(line.data)
        if obj is None or not isinstance(obj, dict):
            self.problem_log.add(line.where(), "not a JSON object; skipped")
            return
        try:
            event = parse_event(obj, received_at or time.time())
        except EventError as exc:
            self.problem_log.add(line.where(), f"{exc}; skipped")
            return
        items = self.book.apply(event)
        if feed:
            self._queue_feed(items)

    def _queue_feed(self, items: list[FeedItem]) -> None:
        if items:
            with self._feed_lock:
                self._feed.extend(items)

    def _publish(self) -> float:
        """Feed items, then one on_change, at most every `coalesce_s`; how long to wait."""
        since = time.monotonic() - self._published_at
        if since < self.coalesce_s:
            return self.coalesce_s - since  # whatever came in waits for the next round
        with self._feed_lock:
            feed, self._feed = self._feed, []
        for item in feed:
            if self._on_feed is not None:
                try:
                    self._on_feed(item)
                except Exception:
                    log.exception("operations: on_feed failed")
        version = self.book.version
        if version == self._shown_version and not feed:
            return self.poll_s
        self._shown_version = version
        self._published_at = time.monotonic()
        if self._on_change is not None:
            try:
                self._on_change()
            except Exception:
                log.exception("operations: on_change failed")
        return self.poll_s

    # -- producers over HTTP ---------------------------------------------------------------
    def ingest(self, items: list[Any]) -> tuple[int, list[str]]:
        """Apply events posted to /api/events; (accepted, ids with a stop requested).

        All or nothing: EventError (saying which item and why) when any item is unusable."""
        now = time.time()
        parsed = []
        for index, item in enumerate(items):
            try:
                parsed.append(parse_event(item, now))
            except EventError as exc:
                where = f"item {index}: " if len(items) > 1 else ""
                raise EventError(f"{where}{exc}") from None
        accepted = 0
        for event in parsed:
            before = self.book.duplicates
            self._queue_feed(self.book.apply(event))
            accepted += self.book.duplicates == before
        self._wake.set()
        return accepted, self.book.stop_requested([e.operation_id for e in parsed])

    # -- stop ------------------------------------------------------------------------------
    def request_stop(self, operation_id: str) -> dict[str, Any] | None:
        """Stop an operation; None for an unknown id, else what is being done."""
        op = self.book.request_stop(operation_id)
        if op is None:
            return None
        action = "none: it has ended"
        if op.live or op.status == "lost":
            action = self.stopper.stop(op.id, op.pid, op.pid_started_at, op.host)
            note = {
                "cooperative": "asked the producer to stop (no local process registered)",
                "signalling": "stopping its process",
                "gone": "its process was not there",
            }.get(action, f"no signal sent ({action})")
            self.book.note_stop(op.id, note)
        log.info("operations: stop requested for %s: %s", operation_id, action)
        self._wake.set()
        return {"id": op.id, "action": action}

    def _stop_outcome(self, operation_id: str, how: str) -> None:
        self._queue_feed(self.book.stop_outcome(operation_id, how))
        self._wake.set()

    # -- reading ---------------------------------------------------------------------------
    def listing(self) -> dict[str, list[dict[str, Any]]]:
        return self.book.listing()

    def get(self, operation_id: str) -> dict[str, Any] | None:
        return self.book.get(operation_id)

    def running_tasks(self) -> dict[str, float]:
        return self.book.running_tasks()

    def costs(self) -> dict[str, list[dict[str, Any]]]:
        return self.book.costs()

    def problems(self) -> list[dict[str, str]]:
        return self.problem_log.as_json()

    def waiting_for(self) -> str | None:
        tailer = self.tailer
        return str(tailer.directory) if tailer is not None and tailer.waiting else None

    def panel_html(self) -> str:
        """The `#operations` panel as one top-level element with hx-swap-oob="true"."""
        from django.template.loader import render_to_string

        from .views import panel_context

        return render_to_string(
            "telemetry/operations/panel.html#panel", {**panel_context(self), "oob": True}
        )


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _alive(op: Any) -> bool:
    return is_alive(op.pid, op.pid_started_at, op.host)


service = OperationsService()


def start(
    events_dir: Path,
    on_change: Callable[[], None] | None = None,
    on_feed: Callable[[FeedItem], None] | None = None,
) -> None:
    service.start(events_dir, on_change, on_feed)


def stop() -> None:
    service.stop()


def panel_html() -> str:
    return service.panel_html()


def running_tasks() -> dict[str, float]:
    return service.running_tasks()


def problems() -> list[dict[str, str]]:
    return service.problems()
