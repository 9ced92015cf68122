"""The operations book: every operation's state, built from events in whatever order they come.

Pure Python (no Django). Thread-safe: the tailer thread, web requests and stop threads all
write through one lock; readers get fresh dicts, never the live objects.

Rules:
- An event seen twice (same `event_id`) counts once.
- Events may come out of order: the timeline and output are ordered by `ts`; the latest
  progress, routing and cost (by `ts`) win; an ended operation never starts running again
  because a late progress event arrives (the first ending wins).
- An event for an operation never started makes a placeholder, filled in when its start comes.
- Other events are kept in the timeline as they came.
- Text shown (output, summaries, errors, reasons, unknown fields) is masked once, on the way in.

Caps (memory stays bounded whatever producers send):
  OUTPUT_LINES = 20 per operation, TIMELINE = 200 entries per operation,
  HISTORY = 500 ended operations, ACTIVE = 1,000 running ones (beyond that the longest silent
  is marked lost), SEEN_IDS = 100,000 event ids remembered for duplicates.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, NamedTuple

from telemetry.masking import mask_secrets

from . import events as ev
from .events import Event, clip

OUTPUT_LINES = 20
TIMELINE = 200
HISTORY = 500
ACTIVE = 1_000
SEEN_IDS = 100_000
LOST_AFTER_S = 600.0

RUNNING = "running"
STOPPING = "stopping"
LOST = "lost"
ENDED = ("completed", "failed", "stopped", "interrupted", "terminated", "killed", "gone")
STATUSES = (RUNNING, STOPPING, *ENDED, LOST)
STOP_OUTCOMES = ("stopped", "interrupted", "terminated", "killed", "gone")


@dataclass(frozen=True)
class FeedItem:
    """One line for the activity feed: `operation.started`, `.completed`, `.failed`, `.stopped`
    or `.lost`."""

    event: str
    operation_id: str
    task_id: str
    text: str


class Entry(NamedTuple):
    """A timeline entry or an output line; tuples sort by (ts, seq) in C."""

    ts: float
    seq: int
    name: str
    text: str


@dataclass
class Operation:
    id: str
    status: str = RUNNING
    placeholder: bool = True  # no start event seen (yet)
    agent: str = ""
    task_id: str = ""
    tool: str = ""
    model: str = ""
    phase: str = ""
    host: str = ""
    pid: int | None = None
    pid_started_at: float | None = None
    prompt_summary: str = ""
    summary: str = ""
    result_summary: str = ""
    error: str = ""
    how: str = ""
    started_at: float = 0.0
    ended_at: float | None = None
    last_seen: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_ts: float = -1.0
    routing: dict[str, Any] | None = None
    routing_ts: float = -1.0
    progress: dict[str, Any] | None = None
    progress_ts: float = -1.0
    output: list[Entry] = field(default_factory=list)
    timeline: list[Entry] = field(default_factory=list)
    stop_requested: bool = False
    stop_note: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.status in (RUNNING, STOPPING)

    @property
    def ended(self) -> bool:
        return self.status in ENDED


def iso(ts: float | None) -> str | None:
    if not ts:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def _mask(text: str) -> str:
    return mask_secrets(text) if text else text


class OperationsBook:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._ops: dict[str, Operation] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()  # oldest ending first
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seq = 0
        self.version = 0  # grows on every change; the service compares it
        self.duplicates = 0

    # -- writing ---------------------------------------------------------------------------
    def apply(self, event: Event) -> list[FeedItem]:
        """Take one event; the feed items it caused (none for a duplicate)."""
        with self._lock:
            if event.event_id:
                if event.event_id in self._seen:
                    self.duplicates += 1
                    return []
                self._seen[event.event_id] = None
                if len(self._seen) > SEEN_IDS:
                    self._seen.popitem(last=False)
            now = self._clock()
            op = self._ops.get(event.operation_id)
            if op is None:
                op = self._ops[event.operation_id] = Operation(
                    event.operation_id, started_at=event.ts, last_seen=min(event.ts, now)
                )
                self._cap_active(now)
            feed = self._apply(op, event, now)
            self.version += 1
            return feed

    def _apply(self, op: Operation, event: Event, now: float) -> list[FeedItem]:
        f = event.fields
        for key in ("agent", "task_id", "tool", "model", "phase", "host"):
            if f.get(key) and (not getattr(op, key) or event.name == ev.STARTED):
                setattr(op, key, f[key])
        if f.get("summary"):
            op.summary = _mask(f["summary"])
        op.last_seen = max(op.last_seen, min(event.ts, now))
        if event.notes:
            op.notes = (op.notes + event.notes)[-10:]
        feed: list[FeedItem] = []
        name = event.name
        if op.status == LOST and name not in ev.KNOWN[4:]:
            # It spoke again: not lost after all.
            op.status = STOPPING if op.stop_requested else RUNNING
            op.ended_at = None
            self._ended.pop(op.id, None)
        if name == ev.STARTED:
            first = op.placeholder
            op.placeholder = False
            op.started_at = event.ts if first else min(op.started_at, event.ts)
            if "pid" in f:
                op.pid = f["pid"]
            if "pid_started_at" in f:
                op.pid_started_at = f["pid_started_at"]
            if f.get("prompt_summary"):
                op.prompt_summary = _mask(f["prompt_summary"])
            text = " / ".join(x for x in (op.tool, op.model) if x) or "started"
            if op.prompt_summary:
                text += " — " + op.prompt_summary
            self._entry(op, event, text)
            if first:
                feed.append(self._feed(op, ev.STARTED, f"{op.agent or 'an agent'} started {text}"))
        else:
            op.started_at = min(op.started_at, event.ts) if op.placeholder else op.started_at
            if name == ev.ROUTING:
                routing = {
                    "selected": f.get("selected") or f.get("model") or "",
                    "reason": _mask(f.get("reason", "")),
                    "alternatives": f.get("alternatives", []),
                }
                if event.ts >= op.routing_ts:
                    op.routing, op.routing_ts = routing, event.ts
                    if routing["selected"]:
                        op.model = routing["selected"]
                reason = f" ({routing['reason']})" if routing["reason"] else ""
                self._entry(op, event, f"routed to {routing['selected'] or '?'}{reason}")
            elif name == ev.PROGRESS:
                progress: dict[str, Any] = {
                    "step": _mask(f.get("step", "")),
                    "percent": f.get("percent"),
                    "message": _mask(f.get("message", "")),
                }
                if event.ts >= op.progress_ts and (
                    progress["step"] or progress["message"] or progress["percent"] is not None
                ):
                    op.progress, op.progress_ts = progress, event.ts
                for line in f.get("output", []):
                    self._seq += 1
                    _insert(op.output, Entry(event.ts, self._seq, "", _mask(line)))
                del op.output[:-OUTPUT_LINES]
                parts = [progress["step"], _percent(progress["percent"]), progress["message"]]
                text = " · ".join(p for p in parts if p)
                if f.get("output"):
                    text = (text + " · " if text else "") + f"{len(f['output'])} output lines"
                self._entry(op, event, text or "progress")
            elif name == ev.COST:
                if event.ts >= op.cost_ts:
                    op.cost_ts = event.ts
                    op.prompt_tokens = int(f.get("prompt_tokens", op.prompt_tokens))
                    op.completion_tokens = int(f.get("completion_tokens", op.completion_tokens))
                    op.cost_usd = f.get("cost_usd", op.cost_usd)
                self._entry(
                    op,
                    event,
                    f"{int(f.get('prompt_tokens', 0)):,} + {int(f.get('completion_tokens', 0)):,}"
                    f" tokens, ${f.get('cost_usd', 0):.4f}",
                )
            elif name in (ev.COMPLETED, ev.FAILED, ev.STOPPED):
                status = {ev.COMPLETED: "completed", ev.FAILED: "failed", ev.STOPPED: "stopped"}
                if name == ev.COMPLETED:
                    op.result_summary = _mask(f.get("result_summary", "")) or op.result_summary
                    text = op.result_summary or "completed"
                elif name == ev.FAILED:
                    op.error = _mask(f.get("error", "")) or op.error or "failed"
                    text = op.error
                else:
                    op.how = f.get("how", "") or op.how
                    text = "stopped" + (f" ({op.how})" if op.how else "")
                self._entry(op, event, text)
                if not op.ended:
                    self._end(op, status[name], event.ts)
                    feed.append(self._feed(op, name, f"{op.agent or 'an agent'}: {text}"))
            else:
                extra = f.get("extra", {})
                detail = ", ".join(f"{k}={_mask(v)}" for k, v in extra.items())
                self._entry(
                    op, event, clip(f"{event.raw_name}" + (f": {detail}" if detail else ""), 1000)
                )
        return feed

    def _entry(self, op: Operation, event: Event, text: str) -> None:
        self._seq += 1
        _insert(op.timeline, Entry(event.ts, self._seq, event.name, text))
        if len(op.timeline) > TIMELINE:
            # Keep the start: it says what the operation was.
            del op.timeline[1 if op.timeline[0].name == ev.STARTED else 0]

    def _end(self, op: Operation, status: str, at: float) -> None:
        op.status = status
        op.ended_at = max(at, op.started_at)
        self._ended.pop(op.id, None)
        self._ended[op.id] = None
        while len(self._ended) > HISTORY:
            old, _ = self._ended.popitem(last=False)
            self._ops.pop(old, None)

    def _feed(self, op: Operation, name: str, text: str) -> FeedItem:
        return FeedItem(name, op.id, op.task_id, clip(text, 300))

    def _cap_active(self, now: float) -> None:
        live = [op for op in self._ops.values() if op.live]
        if len(live) <= ACTIVE:
            return
        live.sort(key=lambda op: op.last_seen)
        for op in live[: len(live) - ACTIVE]:
            self._end(op, LOST, now)

    def request_stop(self, operation_id: str) -> Operation | None:
        """Mark a stop as requested; the operation (a copy), or None for an unknown id."""
        with self._lock:
            op = self._ops.get(operation_id)
            if op is None:
                return None
            if op.live or op.status == LOST:
                op.stop_requested = True
                if op.status == RUNNING:
                    op.status = STOPPING
                self.version += 1
            return _copy(op)

    def note_stop(self, operation_id: str, note: str) -> None:
        with self._lock:
            op = self._ops.get(operation_id)
            if op is not None and op.stop_note != note:
                op.stop_note = note
                self.version += 1

    def stop_outcome(self, operation_id: str, how: str) -> list[FeedItem]:
        """How a stop ended (`interrupted`, `terminated`, `killed`, `gone`, `stopped`)."""
        assert how in STOP_OUTCOMES
        with self._lock:
            op = self._ops.get(operation_id)
            if op is None or op.ended:
                return []  # the producer's own ending came first
            now = self._clock()
            op.how = op.how or how
            self._seq += 1
            bisect.insort(op.timeline, Entry(now, self._seq, "operation.stopped", f"stop: {how}"))
            self._end(op, how, now)
            self.version += 1
            return [self._feed(op, ev.STOPPED, f"{op.agent or 'an agent'}: stopped ({how})")]

    def sweep(self, alive: Callable[[Operation], bool]) -> list[FeedItem]:
        """Mark lost what has been silent for 10 minutes and whose process is gone."""
        with self._lock:
            now = self._clock()
            feed = []
            for op in list(self._ops.values()):
                if op.live and now - op.last_seen > LOST_AFTER_S and not alive(op):
                    self._end(op, LOST, now)
                    op.ended_at = op.last_seen
                    feed.append(
                        self._feed(
                            op,
                            "operation.lost",
                            f"{op.agent or 'an agent'}: lost (silent, process gone)",
                        )
                    )
            if feed:
                self.version += 1
            return feed

    # -- reading ---------------------------------------------------------------------------
    def get(self, operation_id: str) -> dict[str, Any] | None:
        with self._lock:
            op = self._ops.get(operation_id)
            return None if op is None else self._json(op, self._clock(), timeline=True)

    def operation(self, operation_id: str) -> Operation | None:
        with self._lock:
            op = self._ops.get(operation_id)
            return None if op is None else _copy(op)

    def stop_requested(self, ids: list[str]) -> list[str]:
        with self._lock:
            return [
                i
                for i in dict.fromkeys(ids)
                if (op := self._ops.get(i)) and op.stop_requested and op.live
            ]

    def listing(self) -> dict[str, list[dict[str, Any]]]:
        """`{"active": [...], "recent": [...]}`: running first by start, ended newest first."""
        with self._lock:
            now = self._clock()
            active = sorted(
                (op for op in self._ops.values() if op.live), key=lambda o: o.started_at
            )
            recent = [self._ops[i] for i in reversed(self._ended) if i in self._ops]
            return {
                "active": [self._json(op, now) for op in active],
                "recent": [self._json(op, now) for op in recent],
            }

    def running_tasks(self) -> dict[str, float]:
        """Task id -> live cost (USD) of its running operations."""
        with self._lock:
            result: dict[str, float] = {}
            for op in self._ops.values():
                if op.live and op.task_id:
                    result[op.task_id] = result.get(op.task_id, 0.0) + op.cost_usd
            return result

    def costs(self) -> dict[str, list[dict[str, Any]]]:
        """Cost per task and per agent, as the operations reported it (those still in memory)."""
        with self._lock:
            tasks: dict[str, list[float]] = {}
            agents: dict[str, list[float]] = {}
            for op in self._ops.values():
                for key, table in ((op.task_id, tasks), (op.agent, agents)):
                    row = table.setdefault(key or "", [0, 0.0, 0])
                    row[0] += 1
                    row[1] += op.cost_usd
                    row[2] += op.prompt_tokens + op.completion_tokens

            def rows(table: dict[str, list[float]], name: str) -> list[dict[str, Any]]:
                out = [
                    {
                        name: k,
                        "operations": int(v[0]),
                        "cost_usd": round(v[1], 6),
                        "tokens": int(v[2]),
                    }
                    for k, v in table.items()
                ]
                return sorted(out, key=lambda r: (-r["cost_usd"], r[name]))

            return {"tasks": rows(tasks, "task_id"), "agents": rows(agents, "agent")}

    def live_processes(self) -> list[Operation]:
        with self._lock:
            return [_copy(op) for op in self._ops.values() if op.live]

    def _json(self, op: Operation, now: float, timeline: bool = False) -> dict[str, Any]:
        end = op.ended_at if op.ended_at is not None else now
        data: dict[str, Any] = {
            "id": op.id,
            "status": op.status,
            "agent": op.agent,
            "task_id": op.task_id,
            "tool": op.tool,
            "model": op.model,
            "started_at": iso(op.started_at),
            "ended_at": iso(op.ended_at),
            "started_ts": op.started_at,
            "elapsed_s": round(max(0.0, end - op.started_at), 3),
            "prompt_tokens": op.prompt_tokens,
            "completion_tokens": op.completion_tokens,
            "cost_usd": round(op.cost_usd, 6),
            "routing": None
            if op.routing is None
            else {**op.routing, "alternatives": [dict(a) for a in op.routing["alternatives"]]},
            "progress": None if op.progress is None else dict(op.progress),
            "output": [e.text for e in op.output],
            "stop_requested": op.stop_requested,
            "phase": op.phase,
            "host": op.host,
            "pid": op.pid,
            "prompt_summary": op.prompt_summary,
            "summary": op.summary,
            "result_summary": op.result_summary,
            "error": op.error,
            "how": op.how,
            "stop_note": op.stop_note,
            "placeholder": op.placeholder,
            "last_event_at": iso(op.last_seen),
            "notes": list(op.notes),
        }
        if timeline:
            data["timeline"] = [
                {"ts": iso(e.ts), "event": e.name, "text": e.text} for e in op.timeline
            ]
        return data


def _insert(entries: list[Entry], entry: Entry) -> None:
    if not entries or entry >= entries[-1]:
        entries.append(entry)  # the usual case: events come in order
    else:
        bisect.insort(entries, entry)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:g}%"


def _copy(op: Operation) -> Operation:
    return replace(op, output=list(op.output), timeline=list(op.timeline), notes=list(op.notes))
