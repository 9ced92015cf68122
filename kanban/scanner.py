"""Reading the collab dir into boards: a walk of the tree, and a cache of parsed files.

Only files whose size, mtime or ctime changed are parsed again. The walk is bounded: folders
nested too deep and trees with too many files are cut and listed as problems, so a hostile
tree costs a bounded amount of time and memory. Plain Python, no Django.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import immutables

from .board import EMPTY, Board
from .tasks import (
    LANES,
    TRANSIENT_ERRNOS,
    UNASSIGNED,
    Problem,
    Task,
    changed_at,
    classify,
    parse_file,
)

# Trees up to this size are read whole at startup; bigger ones in two steps (see `scan`).
EAGER_ALL_BELOW = 1500
# Folders below an agent folder (or below inbox/) deeper than this are not entered.
MAX_DEPTH = 32
# At most this many task files are read; the rest are listed as one problem.
MAX_FILES = 100_000
MAX_DIRS = 100_000
# A read that failed for want of file descriptors or memory is tried again this much later.
RETRY_SECONDS = 2.0
# The key of the problem that says the tree was cut at MAX_FILES / MAX_DIRS.
LIMIT_KEY = "(limit)"
ROOT_KEY = "./"


@dataclass
class _Cached:
    size: int
    mtime_ns: int
    ctime_ns: int
    result: Task | Problem


@dataclass
class Walk:
    """What a walk found: task paths, and folders it could not or would not enter."""

    files: set[str] = field(default_factory=set)
    dir_problems: dict[str, Problem] = field(default_factory=dict)  # keyed "<dir>/"
    limited: bool = False


def dir_key(reldir: str) -> str:
    """Problems about a folder are keyed by its path with a trailing slash."""
    return reldir + "/" if reldir else ROOT_KEY


def depth_below_owner(reldir: str) -> int:
    """How many folders deep `reldir` is below its agent folder (or below inbox/)."""
    parts = reldir.split("/")
    owner = 1 if parts[0] == "inbox" else 2
    return max(0, len(parts) - owner)


class Scanner:
    """Reads the collab dir into boards, re-parsing only files whose (size, mtime) changed.

    `scan` gives a whole new board; the others return `(board, touched)`, touched being the
    paths that may differ from the board they were given.
    """

    def __init__(
        self,
        root: Path,
        *,
        max_files: int = MAX_FILES,
        max_dirs: int = MAX_DIRS,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        self.root = root
        self.max_files = max_files
        self.max_dirs = max_dirs
        self.max_depth = max_depth
        self._cache: dict[str, _Cached] = {}
        self._pending_order: list[str] = []
        self._retry: dict[str, float] = {}  # path (or "<dir>/") -> when to try again

    # --- whole tree ---------------------------------------------------------------------
    def scan(self, previous: Board | None = None, eager: int | None = None) -> Board:
        """A fresh board from the whole tree.

        With `eager`, a big tree is read in two steps, because parsing YAML is what makes
        startup slow (about half a millisecond a file): now, only the `eager` most recent
        files of each lane and agent, which is what the page shows first; the rest become
        pending cards (lane, agent and age known from the path and `stat`) that
        `fill_pending` parses in the background.
        """
        walk = self.walk("")
        paths = walk.files
        if eager is None or len(paths) < EAGER_ALL_BELOW:
            return self._build(previous or EMPTY, paths, replace_all=True, walks=[walk])
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
        board = self._build(previous or EMPTY, now, replace_all=True, walks=[walk])
        later = {p: _pending(p, st) for p in paths - now if (st := stats[p]) is not None}
        # Most recent last, so filling pops from the end.
        self._pending_order = sorted(later, key=lambda p: later[p].updated_at)
        return Board(board.tasks.update(later), board.problems)  # type: ignore[attr-defined]

    def reconcile(self, previous: Board) -> tuple[Board, set[str]]:
        """The whole tree again, cheaply (the cache spares unchanged files), for polling and
        for catching up after lost events; `touched` names only what really changed."""
        walk = self.walk("")
        board = self._build(previous, walk.files, replace_all=True, walks=[walk])
        touched = {p for p, t in board.tasks.items() if previous.tasks.get(p) is not t}
        touched.update(p for p in previous.tasks if p not in board.tasks)
        return board, touched

    def fill_pending(self, board: Board, budget: int) -> tuple[Board, set[str]]:
        """Parse up to `budget` pending cards, most recent first."""
        chosen: set[str] = set()
        while self._pending_order and len(chosen) < budget:
            path = self._pending_order.pop()
            task = board.tasks.get(path)
            if task is not None and task.pending:
                chosen.add(path)
        if not chosen:  # pending cards this scanner did not list (a board from elsewhere)
            chosen = {t.path for t in board.tasks.values() if t.pending}
        return self._build(board, chosen, replace_all=False), chosen

    # --- parts of it --------------------------------------------------------------------
    def refresh(
        self, previous: Board, files: Iterable[str], dirs: Iterable[str]
    ) -> tuple[Board, set[str]]:
        """A board with the given files re-read and the given subtrees re-walked."""
        # Files named by an event are re-read even if size and mtime look unchanged: two
        # same-size writes within one timestamp tick would fool the cache.
        forced = set(files)
        touched: set[str] = set(forced)
        walks = []
        for reldir in dirs:
            prefix = reldir.rstrip("/") + "/" if reldir else ""
            touched.update(p for p in previous.tasks if p.startswith(prefix))
            touched.update(p for p in previous.problems if p.startswith(prefix))
            walk = self.walk(reldir)
            walks.append(walk)
            touched.update(walk.files)
        board = self._build(previous, touched, replace_all=False, forced=forced, walks=walks)
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
            touched |= elsewhere
        return board, touched

    def due_retries(self, now: float | None = None) -> tuple[set[str], set[str]]:
        """Files and folders whose last read failed for a passing reason, due again now."""
        now = time.monotonic() if now is None else now
        due = [p for p, when in self._retry.items() if when <= now]
        for p in due:
            del self._retry[p]
        files = {p for p in due if not p.endswith("/")}
        dirs = {"" if p == ROOT_KEY else p.rstrip("/") for p in due if p.endswith("/")}
        return files, dirs

    @property
    def retry_pending(self) -> bool:
        return bool(self._retry)

    def next_retry(self) -> float | None:
        """When the first pending retry is due (time.monotonic()), or None."""
        return min(self._retry.values(), default=None)

    # --- the walk -----------------------------------------------------------------------
    def walk(self, reldir: str) -> Walk:
        """Task paths under a directory (relative to the root), following safe links."""
        result = Walk()
        start = self.root / reldir if reldir else self.root
        stack = [(start, reldir)]
        dirs_seen = 0
        while stack:
            folder, rel = stack.pop()
            dirs_seen += 1
            if dirs_seen > self.max_dirs:
                result.limited = True
                break
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue  # gone meanwhile: the event about that comes next
            except OSError as exc:
                self._dir_problem(result, rel, exc)
                continue
            self._retry.pop(dir_key(rel), None)
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                child = f"{rel}/{entry.name}" if rel else entry.name
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    if child.split("/", 1)[0] not in LANES or self._escapes(entry.path):
                        continue
                    if depth_below_owner(child) > self.max_depth:
                        result.dir_problems[dir_key(child)] = Problem(
                            dir_key(child),
                            f"folder nested more than {self.max_depth} levels deep: "
                            "not read, nor anything below it",
                        )
                        continue
                    stack.append((Path(entry.path), child))
                elif classify(child) is not None:
                    if len(result.files) >= self.max_files:
                        result.limited = True
                        stack.clear()
                        break
                    result.files.add(child)
        return result

    def _dir_problem(self, walk: Walk, rel: str, exc: OSError) -> None:
        key = dir_key(rel)
        transient = exc.errno in TRANSIENT_ERRNOS
        if isinstance(exc, PermissionError):
            reason = "permission denied"
        else:
            reason = exc.strerror or str(exc)
        walk.dir_problems[key] = Problem(
            key, f"folder cannot be read ({reason}): its tasks are not shown", transient
        )
        if transient:
            self._retry[key] = time.monotonic() + RETRY_SECONDS

    def _escapes(self, path: str) -> bool:
        real = os.path.realpath(path)
        root = os.path.realpath(self.root)
        return not (real == root or real.startswith(root + os.sep))

    # --- building boards ----------------------------------------------------------------
    def _build(
        self,
        previous: Board,
        paths: set[str],
        replace_all: bool,
        forced: AbstractSet[str] = frozenset(),
        walks: Iterable[Walk] = (),
    ) -> Board:
        base = immutables.Map() if replace_all else previous.tasks
        tasks = base.mutate()  # type: ignore[attr-defined]
        problems: dict[str, Problem] = {} if replace_all else dict(previous.problems)
        for relpath in paths:
            tasks.pop(relpath, None)
            problems.pop(relpath, None)
            if relpath.endswith("/"):  # a folder's problem: the walk says it again if still so
                continue
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
        limited = False
        for walk in walks:
            problems.update(walk.dir_problems)
            limited = limited or walk.limited
        if limited:
            problems[LIMIT_KEY] = Problem(
                LIMIT_KEY,
                f"the tree holds more than {self.max_files:,} task files or {self.max_dirs:,} "
                "folders: the rest are not read",
            )
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
            self._retry.pop(relpath, None)
            if full.is_symlink():
                return Problem(relpath, "broken symbolic link")
            return None
        except OSError as exc:
            return self._failed(
                relpath,
                Problem(
                    relpath, f"cannot be read: {exc.strerror or exc}", exc.errno in TRANSIENT_ERRNOS
                ),
            )
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
        if isinstance(result, Problem) and result.transient:
            return self._failed(relpath, result)
        self._retry.pop(relpath, None)
        self._cache[relpath] = _Cached(st.st_size, st.st_mtime_ns, st.st_ctime_ns, result)
        return result

    def _failed(self, relpath: str, problem: Problem) -> Problem:
        # Not cached: the same file must be read again once descriptors or memory are back.
        self._cache.pop(relpath, None)
        if problem.transient:
            self._retry[relpath] = time.monotonic() + RETRY_SECONDS
        return problem


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
