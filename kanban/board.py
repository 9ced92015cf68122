"""The board: every task and problem at one moment, and how to scan it from disk.

A `Board` is an immutable snapshot; the scanner makes a new one per batch of changes, so
readers on other threads always see one consistent state.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from .tasks import LANES, Problem, Task, classify, parse_file

log = logging.getLogger(__name__)
# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 400


@dataclass(frozen=True)
class Board:
    tasks: dict[str, Task] = field(default_factory=dict)  # by path
    problems: dict[str, Problem] = field(default_factory=dict)  # by path

    @cached_property
    def by_id(self) -> dict[str, list[Task]]:
        index: dict[str, list[Task]] = defaultdict(list)
        for task in self.tasks.values():
            index[task.id].append(task)
        return dict(index)

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
    def duplicate_ids(self) -> dict[str, list[str]]:
        return {
            task_id: sorted(t.path for t in tasks)
            for task_id, tasks in self.by_id.items()
            if len(tasks) > 1
        }

    @cached_property
    def dependents(self) -> dict[str, list[Task]]:
        index: dict[str, list[Task]] = defaultdict(list)
        for task in self.tasks.values():
            for dep_id in task.dependency_ids:
                index[dep_id].append(task)
        return dict(index)

    def all_problems(self) -> list[Problem]:
        """Unreadable files, then duplicate ids, as users see them in the problems panel."""
        listed = sorted(self.problems.values(), key=lambda p: p.path)
        for task_id, paths in sorted(self.duplicate_ids.items()):
            for path in paths:
                others = ", ".join(p for p in paths if p != path)
                listed.append(Problem(path, f"duplicate id {task_id!r}, also in {others}"))
        return listed

    def agents(self, lane: str) -> list[str]:
        return sorted(agent for (ln, agent) in self.groups if ln == lane)

    def unmet_dependencies(self, task: Task) -> list[str]:
        """Known prerequisites that are not done yet: the card is blocked by them."""
        unmet = []
        for dep_id in task.dependency_ids:
            found = self.by_id.get(dep_id)
            if found and not any(t.lane == "done" for t in found):
                unmet.append(dep_id)
        return unmet

    def with_changes(
        self, tasks: dict[str, Task | None], problems: dict[str, Problem | None]
    ) -> Board:
        """A new board with some paths replaced (None removes)."""
        new_tasks = dict(self.tasks)
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
        return Board(new_tasks, new_problems)


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

    def scan(self, previous: Board | None = None) -> Board:
        """A fresh board from the whole tree."""
        paths = set(self.walk(""))
        return self._build(previous or EMPTY, paths, replace_all=True)

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

    def _parse_many(self, paths: list[str]) -> dict[str, Task | Problem]:
        """Parse files, on every core when there are many: YAML parsing is the cost of startup."""
        workers = min(os.cpu_count() or 1, 8)
        if len(paths) < PARALLEL_THRESHOLD or workers < 2:
            return {p: parse_file(self.root, p) for p in paths}
        chunks = [paths[i::workers] for i in range(workers)]
        try:
            # forkserver, not fork: other threads (watchers) may hold locks at fork time.
            ctx = multiprocessing.get_context("forkserver")
            with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                results = pool.map(_parse_chunk, [self.root] * workers, chunks)
                return {path: result for chunk in results for path, result in chunk}
        except Exception:  # no fork, no /dev/shm...: parsing serially is only slower
            log.warning("parallel parsing failed; parsing serially", exc_info=True)
            return {p: parse_file(self.root, p) for p in paths}

    def _build(
        self, previous: Board, paths: set[str], replace_all: bool, forced: AbstractSet[str] = frozenset()
    ) -> Board:
        tasks: dict[str, Task] = {} if replace_all else dict(previous.tasks)
        problems: dict[str, Problem] = {} if replace_all else dict(previous.problems)
        stale_paths = [p for p in paths if self._needs_parse(p, p in forced)]
        parsed = self._parse_many(stale_paths) if len(stale_paths) >= PARALLEL_THRESHOLD else {}
        for relpath in paths:
            tasks.pop(relpath, None)
            problems.pop(relpath, None)
            result = self._read(relpath, relpath in forced, parsed.get(relpath))
            if result is None:
                continue
            if isinstance(result, Problem):
                problems[relpath] = result
                last_good = previous.tasks.get(relpath)
                if last_good is not None:
                    # A file caught mid-write or broken by hand keeps its last good card.
                    tasks[relpath] = _stale(last_good, result.error)
            else:
                tasks[relpath] = result
        if replace_all:
            for path in list(self._cache):
                if path not in paths:
                    del self._cache[path]
        return Board(tasks, problems)

    def _needs_parse(self, relpath: str, force: bool) -> bool:
        if force:
            return True
        cached = self._cache.get(relpath)
        if cached is None:
            return True
        try:
            st = os.stat(self.root / relpath)
        except OSError:
            return False
        return (cached.size, cached.mtime_ns, cached.ctime_ns) != (
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
        )

    def _read(
        self, relpath: str, force: bool = False, parsed: Task | Problem | None = None
    ) -> Task | Problem | None:
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
        result = parsed if parsed is not None else parse_file(self.root, relpath)
        self._cache[relpath] = _Cached(st.st_size, st.st_mtime_ns, st.st_ctime_ns, result)
        return result


def _parse_chunk(root: Path, paths: list[str]) -> list[tuple[str, Task | Problem]]:
    return [(p, parse_file(root, p)) for p in paths]


def _stale(task: Task, reason: str) -> Task:
    return replace(task, stale=reason)
