"""Operation events as producers write them, made into one checked shape.

Producers speak in several dialects: the contract's names (`operation.started`), ADR-047's
(`execution_start`) and the llm-service's dotted ones (`execution.start`). Every field is
checked here once, so the book never sees a wrong type: numbers given as text are coerced,
anything that cannot be made sense of is dropped with a note, and an event that cannot name
its operation is refused with a reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from telemetry.timestamps import parse_timestamp

STARTED = "operation.started"
ROUTING = "operation.routing"
PROGRESS = "operation.progress"
COST = "operation.cost"
COMPLETED = "operation.completed"
FAILED = "operation.failed"
STOPPED = "operation.stopped"
KNOWN = (STARTED, ROUTING, PROGRESS, COST, COMPLETED, FAILED, STOPPED)

ALIASES = {
    "execution_start": STARTED,
    "execution.start": STARTED,
    "routing_decision": ROUTING,
    "routing.decision": ROUTING,
    "model.selected": ROUTING,
    "model_selected": ROUTING,
    "execution_progress": PROGRESS,
    "execution.progress": PROGRESS,
    "execution_output": PROGRESS,
    "execution.output": PROGRESS,
    "cost_update": COST,
    "cost.update": COST,
    "execution_complete": COMPLETED,
    "execution.complete": COMPLETED,
    "execution_error": FAILED,
    "execution.error": FAILED,
}

# What one event may carry into memory. A producer can send 10 MB of output in one event;
# the page shows 20 lines, so nothing beyond these bounds is worth holding.
MAX_TEXT = 4_000  # characters of a summary, reason, message or error
MAX_LINE = 2_000  # characters of one output line
MAX_LINES = 20  # output lines per event (the book keeps 20 per operation too)
MAX_ID = 200  # characters of an id, agent, tool or model name
MAX_ALTERNATIVES = 10
MAX_EXTRA = 20  # fields of an unknown event kept for its timeline

COMMON_TEXT = ("task_id", "agent", "tool", "model", "phase", "host")
TEXT_FIELDS = {
    "summary",
    "prompt_summary",
    "reason",
    "message",
    "step",
    "result_summary",
    "error",
    "how",
    "selected",
}
NUMBER_FIELDS = {"percent", "prompt_tokens", "completion_tokens", "cost_usd", "pid_started_at"}


class EventError(ValueError):
    """The event cannot be used; the message says why (shown to the producer)."""


@dataclass
class Event:
    name: str  # canonical when known (`operation.started`), else as written
    raw_name: str
    operation_id: str
    ts: float  # seconds since the epoch
    event_id: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was coerced or dropped, and why

    @property
    def known(self) -> bool:
        return self.name in KNOWN


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return clip(str(value), limit)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _output(value: Any) -> list[str] | None:
    """Output as lines: text (split at newlines) or a list of text; the last lines win."""
    if isinstance(value, str):
        # Only the tail matters; do not split 10 MB to keep 20 lines.
        tail = value[-(MAX_LINES + 1) * MAX_LINE :]
        lines = tail.splitlines()
    elif isinstance(value, list):
        lines = [str(v) for v in value[-MAX_LINES:] if isinstance(v, (str, int, float))]
    else:
        return None
    return [clip(line, MAX_LINE) for line in lines[-MAX_LINES:]]


def _alternatives(value: Any, notes: list[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        notes.append("alternatives is not a list; dropped")
        return []
    result = []
    for item in value[:MAX_ALTERNATIVES]:
        if isinstance(item, str):
            item = {"model": item}
        if not isinstance(item, dict) or _text(item.get("model"), MAX_ID) is None:
            notes.append("an alternative without a model was dropped")
            continue
        result.append(
            {
                "model": _text(item.get("model"), MAX_ID),
                "score": _number(item.get("score")),
                "cost_per_1k": _number(item.get("cost_per_1k")),
            }
        )
    return result


def parse_event(obj: Any, received_at: float) -> Event:
    """One checked event from a decoded JSON value, or EventError saying why not."""
    if not isinstance(obj, dict):
        raise EventError("an event must be a JSON object")
    raw_name = obj.get("event")
    if raw_name is None or raw_name == "":
        raise EventError("the event has no 'event' field")
    if not isinstance(raw_name, str):
        raise EventError("'event' must be text")
    raw_name = clip(raw_name.strip(), MAX_ID)
    name = ALIASES.get(raw_name, raw_name)
    op_value = obj.get("operation_id", obj.get("run_id"))
    op_id = _text(op_value, MAX_ID) if not isinstance(op_value, bool) else None
    if not op_id or not op_id.strip():
        raise EventError(f"{raw_name}: no 'operation_id' (or 'run_id')")
    notes: list[str] = []
    ts = received_at
    if obj.get("ts") is not None:
        moment = parse_timestamp(obj["ts"])
        if moment is None:
            notes.append(f"ts {str(obj['ts'])[:40]!r} is not ISO 8601; used the time received")
        else:
            ts = moment.timestamp()
    event_id = _text(obj.get("event_id"), MAX_ID) or ""
    fields: dict[str, Any] = {}
    for key in COMMON_TEXT:
        if obj.get(key) is not None:
            value = _text(obj[key], MAX_ID)
            if value is None:
                notes.append(f"{key} is not text; dropped")
            else:
                fields[key] = value
    if "model_selected" in obj and "selected" not in obj:
        obj = {**obj, "selected": obj["model_selected"]}
    for key in TEXT_FIELDS:
        if obj.get(key) is not None:
            value = _text(obj[key], MAX_TEXT)
            if value is None:
                notes.append(f"{key} is not text; dropped")
            else:
                fields[key] = value
    for key in NUMBER_FIELDS:
        if obj.get(key) is not None:
            number = _number(obj[key])
            if number is None or (number < 0 and key != "percent"):
                notes.append(f"{key} {str(obj[key])[:40]!r} is not a usable number; dropped")
            else:
                fields[key] = number
    if "percent" in fields:
        fields["percent"] = min(100.0, max(0.0, fields["percent"]))
    if obj.get("pid") is not None:
        pid = _number(obj["pid"])
        if pid is None or not pid.is_integer():
            notes.append("pid is not a whole number; dropped")
        else:
            fields["pid"] = int(pid)
    if obj.get("output") is not None:
        lines = _output(obj["output"])
        if lines is None:
            notes.append("output is neither text nor a list of lines; dropped")
        else:
            fields["output"] = lines
    if obj.get("alternatives") is not None:
        fields["alternatives"] = _alternatives(obj["alternatives"], notes)
    if name not in KNOWN:
        fields["extra"] = _extra(obj)
    return Event(name, raw_name, op_id.strip(), ts, event_id, fields, notes)


_SKIP_EXTRA = {"event", "ts", "event_id", "operation_id", "run_id"}


def _extra(obj: dict[str, Any]) -> dict[str, str]:
    """An unknown event's other fields, as short text, for its timeline."""
    extra: dict[str, str] = {}
    for key, value in obj.items():
        if key in _SKIP_EXTRA or len(extra) >= MAX_EXTRA:
            continue
        text = value if isinstance(value, str) else repr(value)
        extra[clip(str(key), MAX_ID)] = clip(text, 500)
    return extra
