"""When a task last moved, from its own timestamps: the file's time is only a fallback.

A fresh clone gives every file the same modification time, so ages and ordering read from
`completed_at`, `started_at`, `assigned_at`, `created_at` and their variants, picked by the
lane the task is in. Pure Python: used by the board, the agents view and the feed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

# Most telling first: a Done card's time is when it finished, an Assigned one's when work
# on it last moved, an Inbox one's when it was filed.
FIELDS_BY_LANE: dict[str, tuple[str, ...]] = {
    "done": ("completed_at", "completed", "done_at", "finished_at"),
    "assigned": ("started_at", "reassigned_at", "assigned_at", "claimed_at"),
    "inbox": (),
}
COMMON_FIELDS = ("updated_at", "updated", "last_modified", "created_at", "created")
# Where some agents nest their outcome (`result: {completed_at: ...}`).
NESTED = ("result", "completion", "timeline")


def parse_moment(value: Any) -> float | None:
    """Seconds since the epoch for a YAML timestamp or ISO 8601 text; None when it is not one.

    A value without an offset is UTC. Years outside 1..9999 and other nonsense give None.
    """
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not 10 <= len(text) <= 40:
            return None
        text = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    try:
        # In UTC it must still be a real date: 9999-12-31T23:59-12:00 is year 10000 there.
        return moment.astimezone(dt.timezone.utc).timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def task_moment(data: Mapping[str, Any], lane: str) -> tuple[float | None, str]:
    """The task's own time for its lane, and the field it came from ("" when none)."""
    for name in (*FIELDS_BY_LANE.get(lane, ()), *COMMON_FIELDS):
        for source, where in _candidates(data, name):
            moment = parse_moment(source)
            if moment is not None:
                return moment, where
    return None, ""


def _candidates(data: Mapping[str, Any], name: str) -> list[tuple[Any, str]]:
    found = []
    if name in data:
        found.append((data[name], name))
    for outer in NESTED:
        inner = data.get(outer)
        if isinstance(inner, Mapping) and name in inner:
            found.append((inner[name], f"{outer}.{name}"))
    return found
