"""The board: every task and problem at one moment, with the indexes pages read.

A `Board` is an immutable snapshot; the scanner (`kanban/scanner.py`) makes a new one per
batch of changes, so readers on other threads always see one consistent state. Pure Python:
no disk, no Django.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from functools import cached_property

import immutables

from .tasks import LANES, Dependency, Problem, Task

# The problems panel and /api/tasks list at most this many entries, then "+k more": the full
# state must stay far below daphne's 1 MiB WebSocket message limit whatever the tree holds.
MAX_PROBLEMS_LISTED = 200
MAX_DUPLICATE_PATHS_LISTED = 5
# Beyond this many changed paths (or any id holding a space), indexes are rebuilt whole.
INCREMENTAL_LIMIT = 2000


@dataclass(frozen=True)
class Indexes:
    by_id: Mapping[str, list[Task]]
    groups: dict[tuple[str, str], list[Task]]  # per (lane, agent), most recent first
    dependents: Mapping[str, list[Task]]
    counts: dict[str, int]
    duplicate_ids: dict[str, list[str]]
    pending_count: int


@dataclass(frozen=True)
class Board:
    # Persistent maps: a new board shares all but the changed entries with the last one, so
    # a move on a board of 10,000 tasks costs microseconds, not a copy of 10,000 entries.
    tasks: Mapping[str, Task] = field(default_factory=immutables.Map)  # by path
    problems: dict[str, Problem] = field(default_factory=dict)  # by path
    # Indexes carried forward from a previous board (see `indexed`); else built on first use.
    given_indexes: Indexes | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tasks, immutables.Map):
            object.__setattr__(self, "tasks", immutables.Map(self.tasks))

    @cached_property
    def indexes(self) -> Indexes:
        return self.given_indexes or build_indexes(self.tasks)

    @cached_property
    def by_id(self) -> Mapping[str, list[Task]]:
        return self.indexes.by_id

    @cached_property
    def groups(self) -> dict[tuple[str, str], list[Task]]:
        """Tasks per (lane, agent), most recent (`Task.moment`) first; inbox is one group."""
        return self.indexes.groups

    @cached_property
    def dependents(self) -> Mapping[str, list[Task]]:
        return self.indexes.dependents

    @cached_property
    def counts(self) -> dict[str, int]:
        return self.indexes.counts

    @cached_property
    def duplicate_ids(self) -> dict[str, list[str]]:
        return self.indexes.duplicate_ids

    @cached_property
    def pending_count(self) -> int:
        return self.indexes.pending_count

    @cached_property
    def agents(self) -> list[str]:
        """Every agent with a task, for the filter; from the groups, without a full pass."""
        named = {agent for (lane, agent) in self.groups if agent}
        named.update(t.agent for t in self.groups.get(("inbox", ""), ()))
        return sorted(named)

    def indexed(
        self, previous: Board | None = None, touched: AbstractSet[str] | None = None
    ) -> Board:
        """This board with its indexes built now (in the watcher thread, not on the event loop).

        From a `previous` board, only what changed is redone: a move on a board of 10,000
        tasks must not re-sort 10,000 cards. `touched` (the paths the scanner looked at)
        spares comparing every path.
        """
        if previous is None:
            return replace(self, given_indexes=build_indexes(self.tasks))
        olds, news = changed_tasks(previous, self, touched)
        if len(olds) + len(news) > INCREMENTAL_LIMIT or any(" " in t.id for t in (*olds, *news)):
            return replace(self, given_indexes=build_indexes(self.tasks))
        return replace(self, given_indexes=update_indexes(previous, self.tasks, olds, news))

    def dependency_target(self, dep: Dependency) -> str | None:
        """The task id a dependency names, or None for a note."""
        return dependency_target(self.by_id, dep)

    def all_problems(self) -> list[Problem]:
        """Unreadable files, then each duplicate id once, as users see them; bounded.

        Past `MAX_PROBLEMS_LISTED` the last entry is a marker with an empty path whose error
        says how many more there are.
        """
        listed = sorted(self.problems.values(), key=lambda p: p.path)
        total = len(listed) + len(self.duplicate_ids)
        listed = listed[:MAX_PROBLEMS_LISTED]
        for task_id, paths in sorted(self.duplicate_ids.items()):
            if len(listed) >= MAX_PROBLEMS_LISTED:
                break
            listed.append(Problem(paths[0], duplicate_message(task_id, paths)))
        if total > len(listed):
            listed.append(Problem("", f"+{total - len(listed):,} more problems not listed"))
        return listed

    def unmet_dependencies(self, task: Task) -> list[str]:
        """Known prerequisites that are not done yet: the card is blocked by them."""
        unmet = []
        for dep in task.dependencies:
            dep_id = self.dependency_target(dep)
            found = self.by_id.get(dep_id) if dep_id else None
            if dep_id and found and not any(t.lane == "done" for t in found):
                unmet.append(dep_id)
        return unmet

    def with_changes(
        self, tasks: dict[str, Task | None], problems: dict[str, Problem | None]
    ) -> Board:
        """A new board with some paths replaced (None removes)."""
        new_tasks = self.tasks.mutate()  # type: ignore[attr-defined]
        for path, task in tasks.items():
            if task is None:
                new_tasks.pop(path, None)
            else:
                new_tasks[path] = task
        new_problems = dict(self.problems)
        for path, problem in problems.items():
            if problem is None:
                new_problems.pop(path, None)
            else:
                new_problems[path] = problem
        return Board(new_tasks.finish(), new_problems)


def duplicate_message(task_id: str, paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_DUPLICATE_PATHS_LISTED])
    more = len(paths) - MAX_DUPLICATE_PATHS_LISTED
    tail = f" and {more:,} more" if more > 0 else ""
    return f"duplicate id {task_id!r} in {len(paths):,} files: {shown}{tail}"


def group_key(task: Task) -> tuple[str, str]:
    return (task.lane, "" if task.lane == "inbox" else task.agent)


def sort_key(task: Task) -> tuple[float, str]:
    # The task's own time (completed_at in Done...), not the file's: a fresh clone gives
    # every file the same mtime.
    return (-task.moment, task.path)


def dependency_target(by_id: Mapping[str, list[Task]], dep: Dependency) -> str | None:
    if dep.task_id:
        return dep.task_id
    if dep.description in by_id:  # a note that is in fact an id with a space
        return dep.description
    return None


def changed_tasks(
    previous: Board, board: Board, touched: AbstractSet[str] | None
) -> tuple[list[Task], list[Task]]:
    """The tasks that left `previous` and the ones that replaced them in `board`."""
    if touched is None:
        changed = [p for p, t in board.tasks.items() if previous.tasks.get(p) is not t]
        changed += [p for p in previous.tasks if p not in board.tasks]
    else:  # the scanner said which paths it looked at: nothing else can differ
        changed = [p for p in touched if previous.tasks.get(p) is not board.tasks.get(p)]
    olds = [t for p in changed if (t := previous.tasks.get(p)) is not None]
    news = [t for p in changed if (t := board.tasks.get(p)) is not None]
    return olds, news


# --- indexes from scratch ------------------------------------------------------------------


def build_indexes(tasks: Mapping[str, Task]) -> Indexes:
    by_id = index_by_id(tasks.values())
    return Indexes(
        by_id=by_id,
        groups=index_groups(tasks.values()),
        dependents=index_dependents(tasks.values(), by_id),
        counts=index_counts(tasks.values()),
        duplicate_ids=index_duplicates(by_id),
        pending_count=sum(1 for t in tasks.values() if t.pending),
    )


def index_by_id(tasks: Iterable[Task]) -> Mapping[str, list[Task]]:
    index: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        index[task.id].append(task)
    return immutables.Map(index)


def index_groups(tasks: Iterable[Task]) -> dict[tuple[str, str], list[Task]]:
    grouped: dict[tuple[str, str], list[Task]] = defaultdict(list)
    for task in tasks:
        grouped[group_key(task)].append(task)
    for members in grouped.values():
        members.sort(key=sort_key)
    return dict(grouped)


def index_dependents(
    tasks: Iterable[Task], by_id: Mapping[str, list[Task]]
) -> Mapping[str, list[Task]]:
    index: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        for dep in task.dependencies:
            target = dependency_target(by_id, dep)
            if target is not None:
                index[target].append(task)
    return immutables.Map(index)


def index_counts(tasks: Iterable[Task]) -> dict[str, int]:
    counter = Counter(t.lane for t in tasks)
    counts = {lane: counter.get(lane, 0) for lane in LANES}
    counts["total"] = sum(counter.values())
    return counts


def index_duplicates(by_id: Mapping[str, list[Task]]) -> dict[str, list[str]]:
    return {
        task_id: sorted(t.path for t in tasks) for task_id, tasks in by_id.items() if len(tasks) > 1
    }


# --- indexes carried forward: only the changed tasks are redone ----------------------------


def update_indexes(
    previous: Board, tasks: Mapping[str, Task], olds: list[Task], news: list[Task]
) -> Indexes:
    by_id = updated_by_id(previous.by_id, olds, news)
    return Indexes(
        by_id=by_id,
        groups=updated_groups(previous.groups, olds, news),
        dependents=updated_dependents(previous, olds, news),
        counts=updated_counts(previous.counts, olds, news, len(tasks)),
        duplicate_ids=updated_duplicates(previous.duplicate_ids, by_id, olds, news),
        pending_count=previous.pending_count
        - sum(t.pending for t in olds)
        + sum(t.pending for t in news),
    )


def updated_by_id(
    by_id: Mapping[str, list[Task]], olds: list[Task], news: list[Task]
) -> Mapping[str, list[Task]]:
    index = by_id.mutate()  # type: ignore[attr-defined]
    for task in olds:
        index[task.id] = [t for t in index[task.id] if t is not task]
    for task in news:
        index[task.id] = [*index.get(task.id, ()), task]
    for task in olds:
        if not index.get(task.id):
            index.pop(task.id, None)
    return index.finish()  # type: ignore[no-any-return]


def updated_groups(
    groups: dict[tuple[str, str], list[Task]], olds: list[Task], news: list[Task]
) -> dict[tuple[str, str], list[Task]]:
    result = dict(groups)
    changed_paths = {t.path for t in olds} | {t.path for t in news}
    for key in {group_key(t) for t in (*olds, *news)}:
        members = [t for t in result.get(key, ()) if t.path not in changed_paths]
        for task in news:
            if group_key(task) == key:
                bisect.insort(members, task, key=sort_key)  # the rest stays sorted
        if members:
            result[key] = members
        else:
            result.pop(key, None)
    return result


def updated_dependents(
    previous: Board, olds: list[Task], news: list[Task]
) -> Mapping[str, list[Task]]:
    index = previous.dependents.mutate()  # type: ignore[attr-defined]
    for task in olds:
        for dep in task.dependencies:
            target = previous.dependency_target(dep)
            if target is not None and target in index:
                remaining = [t for t in index[target] if t is not task]
                if remaining:
                    index[target] = remaining
                else:
                    index.pop(target)
    for task in news:
        for dep in task.dependencies:
            target = dep.task_id  # ids with spaces took the full rebuild
            if target is not None:
                index[target] = [*index.get(target, ()), task]
    return index.finish()  # type: ignore[no-any-return]


def updated_counts(
    counts: dict[str, int], olds: list[Task], news: list[Task], total: int
) -> dict[str, int]:
    result = dict(counts)
    for task in olds:
        result[task.lane] -= 1
    for task in news:
        result[task.lane] += 1
    result["total"] = total
    return result


def updated_duplicates(
    duplicates: dict[str, list[str]],
    by_id: Mapping[str, list[Task]],
    olds: list[Task],
    news: list[Task],
) -> dict[str, list[str]]:
    result = dict(duplicates)
    for task_id in {t.id for t in (*olds, *news)}:
        paths = sorted(t.path for t in by_id.get(task_id, ()))
        if len(paths) > 1:
            result[task_id] = paths
        else:
            result.pop(task_id, None)
    return result


EMPTY = Board()
