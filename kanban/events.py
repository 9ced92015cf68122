"""Events: what changed between two boards, one event per distinct change.

Derived from the boards, never from raw watchdog events, whose kinds vary with editors,
git and `mv` (a save can be create+modify+move; a move can be delete+create).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from .board import Board
from .tasks import Dependency, Problem, Task, _freeze
from .times import parse_moment

CREATED = "task.created"
ASSIGNED = "task.assigned"
COMPLETED = "task.completed"
STARTED = "task.started"
FAILED = "task.failed"
UPDATED = "task.updated"
REMOVED = "task.removed"
TELEMETRY_UPDATED = "telemetry.updated"

FAILED_STATUSES = frozenset({"error", "failed"})


@dataclass(frozen=True)
class Event:
    kind: str
    task_id: str
    path: str
    old_path: str | None = None
    task: Task | None = field(default=None, compare=False, repr=False)  # None when removed
    at: float = field(default_factory=time.time, compare=False)
    # What the feed says beyond the kind: the lane a move came from, the fields an edit
    # changed, the last title of a removed task; `history`: rebuilt from the task's own
    # timestamps at start-up, not seen happening.
    old_lane: str = field(default="", compare=False)
    fields: tuple[str, ...] = field(default=(), compare=False)
    last_title: str = field(default="", compare=False)
    history: bool = field(default=False, compare=False)

    @property
    def title(self) -> str:
        return self.task.title if self.task else self.last_title

    @property
    def lane(self) -> str:
        return self.task.lane if self.task else ""

    @property
    def agent(self) -> str:
        return self.task.agent if self.task else ""

    @property
    def moved_lane(self) -> bool:
        return bool(self.old_lane) and self.old_lane != self.lane

    @property
    def short_kind(self) -> str:
        return self.kind.split(".", 1)[1]

    def as_message(self) -> dict[str, Any]:
        """Plain data for a channel layer; `apply_events` rebuilds the board from it."""
        return {
            "kind": self.kind,
            "task_id": self.task_id,
            "path": self.path,
            "old_path": self.old_path,
            "at": self.at,
            "task": task_to_message(self.task) if self.task else None,
            "old_lane": self.old_lane,
            "fields": list(self.fields),
            "last_title": self.last_title,
            "history": self.history,
        }

    @classmethod
    def from_message(cls, msg: dict[str, Any]) -> Event:
        return cls(
            msg["kind"],
            msg["task_id"],
            msg["path"],
            msg["old_path"],
            task_from_message(msg["task"]) if msg["task"] else None,
            msg["at"],
            old_lane=msg.get("old_lane", ""),
            fields=tuple(msg.get("fields", ())),
            last_title=msg.get("last_title", ""),
            history=bool(msg.get("history", False)),
        )


def diff(
    old: Board, new: Board, now: float | None = None, paths: AbstractSet[str] | None = None
) -> list[Event]:
    """Events from `old` to `new`; `paths`, when given, holds every path that may differ."""
    at = time.time() if now is None else now
    events: list[Event] = []
    if paths is None:
        removed = {p: t for p, t in old.tasks.items() if p not in new.tasks}
        added = {p: t for p, t in new.tasks.items() if p not in old.tasks}
        common: AbstractSet[str] = {p for p in old.tasks if p in new.tasks}
    else:
        removed = {p: t for p in paths if p not in new.tasks and (t := old.tasks.get(p))}
        added = {p: t for p in paths if p not in old.tasks and (t := new.tasks.get(p))}
        common = {p for p in paths if p in old.tasks and p in new.tasks}

    for path in common:
        before, after = old.tasks[path], new.tasks[path]
        if before is after or before.pending:  # the scanner reuses unchanged tasks
            continue  # read for the first time at startup: not news
        if before.content_key() != after.content_key():
            events.append(
                Event(
                    _edit_kind(before, after),
                    after.id,
                    path,
                    None,
                    after,
                    at,
                    fields=changed_fields(before, after),
                )
            )
    events.sort(key=lambda e: e.path)

    # A task that left one path and appeared at another with the same id has moved.
    removed_by_id: dict[str, list[Task]] = {}
    for task in sorted(removed.values(), key=lambda t: t.path):
        removed_by_id.setdefault(task.id, []).append(task)
    for path in sorted(added):
        after = added[path]
        candidates = removed_by_id.get(after.id)
        if candidates:
            before = _closest(candidates, after)
            candidates.remove(before)
            del removed[before.path]
            events.append(
                Event(
                    _move_kind(before, after),
                    after.id,
                    path,
                    before.path,
                    after,
                    at,
                    old_lane=before.lane,
                    fields=changed_fields(before, after),
                )
            )
        else:
            events.append(Event(CREATED, after.id, path, None, after, at))
    for path in sorted(removed):
        gone = removed[path]
        events.append(Event(REMOVED, gone.id, path, None, None, at, last_title=gone.title))
    return events


FIELDS_SHOWN = 6


def changed_fields(before: Task, after: Task) -> tuple[str, ...]:
    """The top-level YAML fields that differ, plus the agent when the folder changed it.

    The lane is not a field: a move says where from and to on its own.
    """
    names: list[str] = []
    if before.stale != after.stale:
        names.append("unreadable" if after.stale else "readable again")
    if before.agent != after.agent:
        names.append("agent")
    old, new = before.data, after.data
    if old is not new:
        for key in sorted({*old, *new}, key=str):
            if len(names) > FIELDS_SHOWN:
                break
            if str(key) not in names and _freeze(old.get(key)) != _freeze(new.get(key)):
                names.append(str(key))
    return tuple(names[: FIELDS_SHOWN + 1])


def _closest(candidates: list[Task], after: Task) -> Task:
    same_name = [
        t for t in candidates if t.path.rsplit("/", 1)[-1] == after.path.rsplit("/", 1)[-1]
    ]
    return (same_name or candidates)[0]


def _edit_kind(before: Task, after: Task) -> str:
    if after.status != before.status:
        if after.status == "in_progress":
            return STARTED
        if after.status in FAILED_STATUSES:
            return FAILED
    return UPDATED


def _move_kind(before: Task, after: Task) -> str:
    if after.lane != before.lane:
        if after.lane == "assigned":
            return ASSIGNED
        if after.lane == "done":
            return COMPLETED
    return _edit_kind(before, after)


# --- history: what the files say happened before the dashboard started ----------------

# Which moment of a task's life each field records, and the event it stands for.
HISTORY_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (CREATED, ("created_at", "created")),
    (ASSIGNED, ("assigned_at", "claimed_at")),
    (STARTED, ("started_at",)),
    (COMPLETED, ("completed_at", "completed", "done_at", "finished_at")),
)
_NESTED = ("result", "completion", "timeline")
FUTURE_SLACK_S = 300  # a clock a little ahead is fine; a date next year is a typo


def history_events(board: Board, limit: int, now: float | None = None) -> list[Event]:
    """The `limit` most recent moments the tasks' own timestamps record, newest first."""
    latest = (time.time() if now is None else now) + FUTURE_SLACK_S
    found = heapq.nlargest(
        limit,
        (m for task in board.tasks.values() for m in _moments(task) if m[0] <= latest),
        key=lambda m: (m[0], m[1], m[3].path),
    )
    return [
        Event(kind, task.id, task.path, None, task, at, fields=(name,), history=True)
        for at, kind, name, task in found
    ]


def _moments(task: Task) -> Iterator[tuple[float, str, str, Task]]:
    data = task.data
    if task.pending or not data:
        return
    for kind, names in HISTORY_FIELDS:
        if kind == COMPLETED and task.lane != "done":
            continue  # a task back in Assigned: its old completion is not the story
        for name in names:
            moment = _field_moment(data, name)
            if moment is not None:
                yield moment, kind, name, task
                break


def _field_moment(data: dict[str, Any], name: str) -> float | None:
    if name in data:
        return parse_moment(data[name])
    for outer in _NESTED:
        inner = data.get(outer)
        if isinstance(inner, dict) and name in inner:
            return parse_moment(inner[name])
    return None


# --- rebuilding a board from messages (a web worker fed by a channel layer) -------------


def task_to_message(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "path": task.path,
        "lane": task.lane,
        "agent": task.agent,
        "title": task.title,
        "priority": task.priority,
        "status": task.status,
        "estimated_hours": task.estimated_hours,
        "dependencies": [[d.task_id, d.kind, d.description] for d in task.dependencies],
        "updated_at": task.updated_at,
        "data": task.data,
        "stale": task.stale,
        "has_title": task.has_title,
        "has_agent": task.has_agent,
        "pending": task.pending,
    }


def task_from_message(msg: dict[str, Any]) -> Task:
    deps = tuple(Dependency(d[0], d[1], d[2]) for d in msg["dependencies"])
    return Task(**{**msg, "dependencies": deps})


def board_to_message(board: Board) -> dict[str, Any]:
    return {
        "tasks": [task_to_message(t) for t in board.tasks.values()],
        "problems": [p.as_json() for p in board.problems.values()],
    }


def board_from_message(msg: dict[str, Any]) -> Board:
    tasks = {t["path"]: task_from_message(t) for t in msg["tasks"]}
    problems = {p["path"]: Problem(p["path"], p["error"]) for p in msg["problems"]}
    return Board(tasks, problems)


def apply_events(
    board: Board, events: list[dict[str, Any]], problems: list[dict[str, str]]
) -> Board:
    """The board after a batch of event messages, plus the problems list that came with them."""
    changes: dict[str, Task | None] = {}
    for event in events:
        if event.get("old_path"):
            changes.setdefault(event["old_path"], None)
        if event["kind"] == REMOVED:
            changes[event["path"]] = None
        else:
            changes[event["path"]] = task_from_message(event["task"])
    new_problems: dict[str, Problem | None] = {p: None for p in board.problems}
    new_problems.update({p["path"]: Problem(p["path"], p["error"]) for p in problems})
    # Indexes carried forward, as the watcher's own boards have them: rebuilt from scratch,
    # a web worker's first render of each change sorted every card again (on its event loop).
    return board.with_changes(changes, new_problems).indexed(board, set(changes))
