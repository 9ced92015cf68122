"""The board: every task and problem at one moment, and how to scan it from disk.

A `Board` is an immutable snapshot; the scanner makes a new one per batch of changes, so
readers on other threads always see one consistent state.
"""

from __future__ import annotations

import bisect
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path, PurePosixPath

import immutables

from .tasks import LANES, UNASSIGNED, Dependency, Problem, Task, changed_at, classify, parse_file

# Trees up to this size are read whole at startup; bigger ones in two steps (see `scan`).
EAGER_ALL_BELOW = 1500


@dataclass(frozen=True)
class Board:
    # Persistent maps: a new board shares all but the changed entries with the last one, so
    # a move on a board of 10,000 tasks costs microseconds, not a copy of 10,000 entries.
    tasks: Mapping[str, Task] = field(default_factory=immutables.Map)  # by path
    problems: dict[str, Problem] = field(default_factory=dict)  # by path

    def __post_init__(self) -> None:
        if not isinstance(self.tasks, immutables.Map):
            object.__setattr__(self, "tasks", immutables.Map(self.tasks))

    @cached_property
    def by_id(self) -> Mapping[str, list[Task]]:
        index: dict[str, list[Task]] = defaultdict(list)
        for task in self.tasks.values():
            index[task.id].append(task)
        return immutables.Map(index)

    @cached_property
    def counts(self) -> dict[str, int]:
        counter = Counter(t.lane for t in self.tasks.values())
        counts = {lane: counter.get(lane, 0) for lane in LANES}
        counts["total"] = len(self.tasks)
        return counts

    @cached_property
    def groups(self) -> dict[tuple[str, str], list[Task]]:
        """Tasks per (lane, agent), most recently changed first; inbox is one group."""
        grouped: dict[tuple[str, str], list[Task]] = defaultdict(list)
        for task in self.tasks.values():
            grouped[group_key(task)].append(task)
        for tasks in grouped.values():
            tasks.sort(key=sort_key)
        return dict(grouped)

    @cached_property
    def agents(self) -> list[str]:
        """Every agent with a task, for the filter; from the groups, without a full pass."""
        named = {agent for (lane, agent) in self.groups if agent}
        named.update(t.agent for t in self.groups.get(("inbox", ""), ()))
        return sorted(named)

    @cached_property
    def pending_count(self) -> int:
        return sum(1 for t in self.tasks.values() if t.pending)

    @cached_property
    def duplicate_ids(self) -> dict[str, list[str]]:
        return {
            task_id: sorted(t.path for t in tasks)
            for task_id, tasks in self.by_id.items()
            if len(tasks) > 1
        }

    @cached_property
    def dependents(self) -> Mapping[str, list[Task]]:
        index: dict[str, list[Task]] = defaultdict(list)
        for task in self.tasks.values():
            for dep in task.dependencies:
                target = self.dependency_target(dep)
                if target is not None:
                    index[target].append(task)
        return immutables.Map(index)

    def index(
        self, previous: Board | None = None, touched: AbstractSet[str] | None = None
    ) -> Board:
        """Compute the indexes now (in the watcher thread, not on the server's event loop).

        From a `previous` board whose indexes exist, only what changed is redone: a move on a
        board of 10,000 tasks must not re-sort 10,000 cards.
        """
        prev = previous.__dict__ if previous is not None else {}
        if not all(name in prev for name in _INDEXES):
            for name in _INDEXES:
                getattr(self, name)
            return self
        assert previous is not None
        if touched is None:
            changed = [p for p, t in self.tasks.items() if previous.tasks.get(p) is not t]
            changed += [p for p in previous.tasks if p not in self.tasks]
        else:  # the scanner said which paths it looked at: nothing else can differ
            changed = [p for p in touched if previous.tasks.get(p) is not self.tasks.get(p)]
        changed_paths = set(changed)
        olds = [t for p in changed if (t := previous.tasks.get(p)) is not None]
        news = [t for p in changed if (t := self.tasks.get(p)) is not None]
        if len(changed) > 2000 or any(" " in t.id for t in olds + news):
            for name in _INDEXES:
                getattr(self, name)
            return self
        by_id = previous.by_id.mutate()  # type: ignore[attr-defined]
        for task in olds:
            by_id[task.id] = [t for t in by_id[task.id] if t is not task]
        for task in news:
            by_id[task.id] = [*by_id.get(task.id, ()), task]
        for task in olds:
            if not by_id.get(task.id):
                by_id.pop(task.id, None)
        groups = dict(previous.groups)
        for key in {group_key(t) for t in olds + news}:
            members = [t for t in groups.get(key, ()) if t.path not in changed_paths]
            for task in news:
                if group_key(task) == key:
                    bisect.insort(members, task, key=sort_key)  # the rest stays sorted
            if members:
                groups[key] = members
            else:
                groups.pop(key, None)
        dependents = previous.dependents.mutate()  # type: ignore[attr-defined]
        for task in olds:
            for dep in task.dependencies:
                target = previous.dependency_target(dep)
                if target is not None and target in dependents:
                    remaining = [t for t in dependents[target] if t is not task]
                    if remaining:
                        dependents[target] = remaining
                    else:
                        dependents.pop(target)
        for task in news:
            for dep in task.dependencies:
                target = dep.task_id  # ids with spaces took the full path above
                if target is not None:
                    dependents[target] = [*dependents.get(target, ()), task]
        counts = dict(previous.counts)
        for task in olds:
            counts[task.lane] -= 1
        for task in news:
            counts[task.lane] += 1
        counts["total"] = len(self.tasks)
        duplicates = dict(previous.duplicate_ids)
        for task_id in {t.id for t in olds + news}:
            paths = sorted(t.path for t in by_id.get(task_id, ()))
            if len(paths) > 1:
                duplicates[task_id] = paths
            else:
                duplicates.pop(task_id, None)
        pending = (
            previous.pending_count - sum(t.pending for t in olds) + sum(t.pending for t in news)
        )
        self.__dict__.update(
            by_id=by_id.finish(),
            groups=groups,
            dependents=dependents.finish(),
            counts=counts,
            duplicate_ids=duplicates,
            pending_count=pending,
        )
        return self

    def dependency_target(self, dep: Dependency) -> str | None:
        """The task id a dependency names, or None for a note."""
        if dep.task_id:
            return dep.task_id
        if dep.description in self.by_id:  # a note that is in fact an id with a space
            return dep.description
        return None

    def all_problems(self) -> list[Problem]:
        """Unreadable files, then duplicate ids, as users see them in the problems panel."""
        listed = sorted(self.problems.values(), key=lambda p: p.path)
        for task_id, paths in sorted(self.duplicate_ids.items()):
            for path in paths:
                others = ", ".join(p for p in paths if p != path)
                listed.append(Problem(path, f"duplicate id {task_id!r}, also in {others}"))
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


_INDEXES = ("by_id", "groups", "dependents", "counts", "duplicate_ids", "pending_count")


def group_key(task: Task) -> tuple[str, str]:
    return (task.lane, "" if task.lane == "inbox" else task.agent)


def sort_key(task: Task) -> tuple[float, str]:
    return (-task.updated_at, task.path)


EMPTY = Board()


@dataclass
class _Cached:
    size: int
    mtime_ns: int
    ctime_ns: int
    result: Task | Problem


class Scanner:
    """Reads the collab dir into boards, re-parsing only files whose (size, mtime) changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, _Cached] = {}
        self._pending_order: list[str] = []
        # The paths the last refresh or fill looked at (None after a whole scan).
        self.last_touched: set[str] | None = None

    def scan(self, previous: Board | None = None, eager: int | None = None) -> Board:
        """A fresh board from the whole tree.

        With `eager`, a big tree is read in two steps, because parsing YAML is what makes
        startup slow (about half a millisecond a file): now, only the `eager` most recent
        files of each lane and agent, which is what the page shows first; the rest become
        pending cards (lane, agent and age known from the path and `stat`) that
        `fill_pending` parses in the background.
        """
        paths = set(self.walk(""))
        self.last_touched = None
        if eager is None or len(paths) < EAGER_ALL_BELOW:
            return self._build(previous or EMPTY, paths, replace_all=True)
        stats = {p: _stat(self.root / p) for p in paths}
        groups: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        for path in paths:
            where = classify(path)
            if where is not None and stats[path] is not None:
                groups[where].append(path)
        now: set[str] = set()
        for (lane, folder_agent), members in groups.items():
            if folder_agent is None and lane != "inbox":
                now.update(members)  # the agent is in the file: it decides the group
                continue
            members.sort(key=lambda p: -changed_at(stats[p]))  # type: ignore[arg-type]
            now.update(members[:eager])
        board = self._build(previous or EMPTY, now, replace_all=True)
        later = {p: _pending(p, st) for p in paths - now if (st := stats[p]) is not None}
        # Most recent last, so filling pops from the end.
        self._pending_order = sorted(later, key=lambda p: later[p].updated_at)
        return Board(board.tasks.update(later), board.problems)  # type: ignore[attr-defined]

    def fill_pending(self, board: Board, budget: int) -> Board:
        """Parse up to `budget` pending cards, most recent first."""
        chosen: set[str] = set()
        while self._pending_order and len(chosen) < budget:
            path = self._pending_order.pop()
            task = board.tasks.get(path)
            if task is not None and task.pending:
                chosen.add(path)
        if not chosen:  # pending cards this scanner did not list (a board from elsewhere)
            chosen = {t.path for t in board.tasks.values() if t.pending}
        self.last_touched = chosen
        return self._build(board, chosen, replace_all=False)

    def refresh(self, previous: Board, files: Iterable[str], dirs: Iterable[str]) -> Board:
        """A board with the given files re-read and the given subtrees re-walked."""
        # Files named by an event are re-read even if size and mtime look unchanged: two
        # same-size writes within one timestamp tick would fool the cache.
        forced = set(files)
        touched: set[str] = set(forced)
        for reldir in dirs:
            prefix = reldir.rstrip("/") + "/" if reldir else ""
            touched.update(p for p in previous.tasks if p.startswith(prefix))
            touched.update(p for p in previous.problems if p.startswith(prefix))
            touched.update(self.walk(reldir))
        board = self._build(previous, touched, replace_all=False, forced=forced)
        self.last_touched = touched
        # A file moved into a folder created a moment before arrives as "created" long before
        # watchdog reports its old path gone: check the old path now, so a move stays one move.
        elsewhere = {
            other.path
            for path in touched
            if path in board.tasks and path not in previous.tasks
            for other in previous.by_id.get(board.tasks[path].id, ())
            if other.path not in touched
        }
        if elsewhere:
            board = self._build(board, elsewhere, replace_all=False, forced=elsewhere)
            self.last_touched = touched | elsewhere
        return board

    def walk(self, reldir: str) -> Iterator[str]:
        """Task paths under a directory (relative to the root), following safe links."""
        start = self.root / reldir if reldir else self.root
        stack = [(start, reldir)]
        while stack:
            folder, rel = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                child = f"{rel}/{entry.name}" if rel else entry.name
                if entry.name.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    top = child.split("/", 1)[0]
                    if top in ("inbox", "assigned", "done") and not self._escapes(entry.path):
                        stack.append((Path(entry.path), child))
                elif classify(child) is not None:
                    yield child

    def _escapes(self, path: str) -> bool:
        real = os.path.realpath(path)
        root = os.path.realpath(self.root)
        return not (real == root or real.startswith(root + os.sep))

    def _build(
        self,
        previous: Board,
        paths: set[str],
        replace_all: bool,
        forced: AbstractSet[str] = frozenset(),
    ) -> Board:
        base = immutables.Map() if replace_all else previous.tasks
        tasks = base.mutate()  # type: ignore[attr-defined]
        problems: dict[str, Problem] = {} if replace_all else dict(previous.problems)
        for relpath in paths:
            tasks.pop(relpath, None)
            problems.pop(relpath, None)
            result = self._read(relpath, relpath in forced)
            if result is None:
                continue
            if isinstance(result, Problem):
                problems[relpath] = result
                last_good = previous.tasks.get(relpath)
                if last_good is not None and not last_good.pending:
                    # A file caught mid-write or broken by hand keeps its last good card.
                    tasks[relpath] = _stale(last_good, result.error)
            else:
                tasks[relpath] = result
        if replace_all:
            for path in list(self._cache):
                if path not in paths:
                    del self._cache[path]
        return Board(tasks.finish(), problems)

    def _read(self, relpath: str, force: bool = False) -> Task | Problem | None:
        full = self.root / relpath
        try:
            st = full.stat()
        except FileNotFoundError:
            self._cache.pop(relpath, None)
            if full.is_symlink():
                return Problem(relpath, "broken symbolic link")
            return None
        except OSError as exc:
            return Problem(relpath, f"cannot be read: {exc.strerror or exc}")
        if classify(relpath) is None:
            return None
        cached = self._cache.get(relpath)
        if (
            not force
            and cached is not None
            and cached.size == st.st_size
            and cached.mtime_ns == st.st_mtime_ns
            and cached.ctime_ns == st.st_ctime_ns
        ):
            return cached.result
        result = parse_file(self.root, relpath)
        self._cache[relpath] = _Cached(st.st_size, st.st_mtime_ns, st.st_ctime_ns, result)
        return result


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _pending(relpath: str, st: os.stat_result) -> Task:
    lane, folder_agent = classify(relpath) or ("inbox", None)
    stem = PurePosixPath(relpath).stem
    return Task(
        id=stem,
        path=relpath,
        lane=lane,
        agent=folder_agent or UNASSIGNED,
        title=stem,
        priority="normal",
        status="",
        estimated_hours=None,
        dependencies=(),
        updated_at=changed_at(st),
        data={},
        pending=True,
    )


def _stale(task: Task, reason: str) -> Task:
    return replace(task, stale=reason)
