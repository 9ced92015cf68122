"""Events: what changed between two boards, one event per distinct change.

Derived from the boards, never from raw watchdog events, whose kinds vary with editors,
git and `mv` (a save can be create+modify+move; a move can be delete+create).
"""

from __future__ import annotations

import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from .board import Board
from .tasks import Dependency, Problem, Task

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

    @property
    def title(self) -> str:
        return self.task.title if self.task else ""

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
        }


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
            events.append(Event(_edit_kind(before, after), after.id, path, None, after, at))
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
            events.append(Event(_move_kind(before, after), after.id, path, before.path, after, at))
        else:
            events.append(Event(CREATED, after.id, path, None, after, at))
    for path in sorted(removed):
        events.append(Event(REMOVED, removed[path].id, path, None, None, at))
    return events


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
    return board.with_changes(changes, new_problems)
