"""What to redraw when the board changes: a list of small operations on the page.

Pure planning, no HTML: the web layer turns each operation into an `hx-swap-oob` fragment.
Most changes touch a card or two, so they become card-sized operations; anything the
page cannot express that way (a new agent group, a card landing mid-list) redraws the
smallest enclosing piece instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from .board import Board, group_key
from .filters import TaskFilter
from .tasks import Task

GroupKey = tuple[str, str]


def short_hash(*parts: str) -> str:
    return hashlib.blake2s("\x1f".join(parts).encode(), digest_size=5).hexdigest()


def card_dom_id(path: str) -> str:
    return "card-" + short_hash(path)


def group_dom_id(key: GroupKey) -> str:
    return f"group-{key[0]}-" + short_hash(key[1])


@dataclass(frozen=True)
class Limits:
    done: int = 10
    other: int = 40

    def for_lane(self, lane: str) -> int:
        return self.done if lane == "done" else self.other


@dataclass(frozen=True)
class GroupView:
    key: GroupKey
    shown: list[Task]
    total: int  # matching the filter

    @property
    def hidden(self) -> int:
        return self.total - len(self.shown)


def group_view(board: Board, key: GroupKey, flt: TaskFilter, limits: Limits) -> GroupView:
    tasks = board.groups.get(key, [])
    if flt.active:
        tasks = [t for t in tasks if flt.matches(t)]
    return GroupView(key, tasks[: limits.for_lane(key[0])], len(tasks))


def lane_views(board: Board, lane: str, flt: TaskFilter, limits: Limits) -> list[GroupView]:
    keys = sorted(k for k in board.groups if k[0] == lane)
    views = [group_view(board, k, flt, limits) for k in keys]
    return [v for v in views if v.total]


@dataclass(frozen=True)
class Op:
    # card, delete_card, insert_cards, append_cards, group_cards, group_meta, delete_group, lane
    kind: str
    key: GroupKey | None = None
    tasks: tuple[Task, ...] = ()
    view: GroupView | None = None
    path: str = ""


def plan(
    old: Board, new: Board, changed_paths: Iterable[str], flt: TaskFilter, limits: Limits
) -> list[Op]:
    """Operations that turn the page for `old` into the page for `new`."""
    paths = set(changed_paths)
    # A card shows whether its prerequisites are done, so dependents redraw too.
    for path in list(paths):
        for board in (old, new):
            task = board.tasks.get(path)
            if task is not None:
                paths.update(t.path for t in old.dependents.get(task.id, ()))
                paths.update(t.path for t in new.dependents.get(task.id, ()))
    groups: set[GroupKey] = set()
    for path in paths:
        for board in (old, new):
            task = board.tasks.get(path)
            if task is not None:
                groups.add(group_key(task))

    ops: list[Op] = []
    redraw_lanes: set[str] = set()
    for key in sorted(groups):
        before = group_view(old, key, flt, limits)
        after = group_view(new, key, flt, limits)
        if not after.total:
            if before.total:
                ops.append(Op("delete_group", key))
            continue
        if not before.total:
            redraw_lanes.add(key[0])  # a new group must take its sorted place in the lane
            continue
        ops.extend(_group_ops(before, after, paths))
    for lane in sorted(redraw_lanes):
        ops = [op for op in ops if not (op.key and op.key[0] == lane)]
        ops.append(Op("lane", (lane, "")))
    return ops


def _group_ops(before: GroupView, after: GroupView, changed: set[str]) -> list[Op]:
    old_paths = [t.path for t in before.shown]
    new_paths = [t.path for t in after.shown]
    old_set, new_set = set(old_paths), set(new_paths)
    kept = [p for p in old_paths if p in new_set]
    # New cards can go on top (a fresh change) or at the bottom (one that comes into view
    # when a card above it leaves a full group); anything else redraws the list.
    top = _leading_new(new_paths, old_set)
    bottom = _leading_new(new_paths[len(top) :][::-1], old_set)[::-1]
    if new_paths != top + kept + bottom:
        return [Op("group_cards", after.key, view=after), Op("group_meta", after.key, view=after)]
    ops: list[Op] = []
    for path in old_paths:
        if path not in new_set:
            ops.append(Op("delete_card", before.key, path=path))
    by_path = {t.path: t for t in after.shown}
    for path in kept:
        if path in changed:
            ops.append(Op("card", after.key, tasks=(by_path[path],)))
    if top:
        ops.append(Op("insert_cards", after.key, tasks=tuple(by_path[p] for p in top)))
    if bottom:
        ops.append(Op("append_cards", after.key, tasks=tuple(by_path[p] for p in bottom)))
    ops.append(Op("group_meta", after.key, view=after))
    return ops


def _leading_new(paths: list[str], old: set[str]) -> list[str]:
    leading = []
    for path in paths:
        if path in old:
            break
        leading.append(path)
    return leading
