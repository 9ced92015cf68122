"""Watching the collab dir: inotify events in, whole consistent boards out.

Raw events only say *where* to look; each burst is coalesced, the touched files and
subtrees are re-read, and the resulting board goes to `on_board`. Runs in its own thread
and never dies of an exception. The inotify thread is checked every cycle: if it died, the
watcher says so (mode "stopped"), starts it again and reads the whole tree; after repeated
deaths it polls instead. A periodic reconciling scan (cheap: the scanner's cache) catches
whatever events may still have been lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .board import EMPTY, Board
from .scanner import Scanner
from .tasks import LANES
from .treewatch import TreeEvents, TreeWatch, WatchLimitReached

log = logging.getLogger(__name__)

# A burst (git checkout, a script moving many files) is over once the disk has been quiet
# this long; a never-ending burst still publishes at least this often.
QUIET_SECONDS = 0.002
MAX_DELAY_SECONDS = 0.15
ROOT_CHECK_SECONDS = 0.5
# With inotify running, its events wake the loop (the root removed too): looking whether the
# root was replaced is a safety net, this often while idle.
IDLE_CHECK_SECONDS = 2.0
# Startup of a huge tree: cards parsed at once per lane and agent (the page shows up to 40),
# then the rest in chunks of about 0.1 s, so a change waits at most that long meanwhile.
EAGER_PER_GROUP = 40
FILL_CHUNK = 200
POLL_SECONDS = 1.0
# With inotify, the whole tree is compared with the board this often anyway.
RECONCILE_SECONDS = 30.0
# The inotify thread died this many times within FAILURE_WINDOW: poll from then on.
MAX_WATCH_FAILURES = 3
FAILURE_WINDOW_SECONDS = 60.0


class WatchDied(RuntimeError):
    pass


class BoardWatcher:
    def __init__(
        self,
        root: Path,
        on_board: Callable[[Board, set[str] | None, Board], None],
        on_mode: Callable[[str, str], None] | None = None,
        force_polling: bool = False,
        scanner: Scanner | None = None,
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.on_board = on_board
        self.on_mode = on_mode or (lambda mode, waiting: None)
        self.force_polling = force_polling
        self.mode = "stopped"
        self._waiting = ""
        self.scanner = scanner or Scanner(self.root)
        self.board: Board = EMPTY
        # Liveness: time.time() of the last completed cycle of the watcher loop.
        self.last_cycle = 0.0
        self._dirty_files: set[str] = set()
        self._dirty_dirs: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tree: TreeWatch | None = None
        self._failures: list[float] = []
        self._first_dirty = 0.0
        self._last_dirty = 0.0
        self._published_once = False
        self._root_gone = False
        self._ready = threading.Event()

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="board-watcher", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Block until the first board is out (or the collab dir is known to be missing)."""
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._stop_tree()
        self._set_mode("stopped", "")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch_once()
            except WatchDied:
                self._stop_tree()
                self._note_failure()
            except Exception:
                log.exception("the watcher failed; starting it again")
                self._stop_tree()
                self._note_failure()
                self._stop.wait(0.5)

    def _note_failure(self) -> None:
        now = time.monotonic()
        self._failures = [t for t in self._failures if now - t < FAILURE_WINDOW_SECONDS]
        self._failures.append(now)
        if len(self._failures) >= MAX_WATCH_FAILURES and not self.force_polling:
            log.error("inotify watching failed %d times: polling from now on", len(self._failures))
            self.force_polling = True

    def _watch_once(self) -> None:
        if not self.root.is_dir():
            self._set_mode("stopped", str(self.root))
            if not self._published_once or self.board is not EMPTY:
                self._publish(EMPTY)
            log.info("waiting for %s to appear", self.root)
            while not self._stop.is_set() and not self.root.is_dir():
                self._heartbeat()
                self._stop.wait(ROOT_CHECK_SECONDS)
            if self._stop.is_set():
                return
        root_id = _identity(self.root)
        self._clear_dirty()
        self._start_tree()
        self._publish(self.scanner.scan(self.board, eager=EAGER_PER_GROUP))
        last_full = time.monotonic()
        while not self._stop.is_set():
            self._heartbeat()
            # While a huge tree is still being read, changes come first, then the next chunk.
            polling = self._tree is None
            idle = POLL_SECONDS if polling else self._idle_wait()
            woke = self._wake.wait(0 if self.board.pending_count else idle)
            if self._stop.is_set():
                return
            if self._root_gone or _identity(self.root) != root_id:
                self._root_gone = False
                log.warning("%s was removed or replaced; watching it anew", self.root)
                self._stop_tree()
                return
            if self._tree is not None and not self._tree.is_alive():
                log.error("the inotify thread died; watching anew and reading the whole tree")
                self._set_mode("stopped", "")
                raise WatchDied()
            if woke:
                self._settle()
                self._flush()
            elif self.board.pending_count:
                self._publish(*self.scanner.fill_pending(self.board, FILL_CHUNK))
            elif time.monotonic() - last_full >= (POLL_SECONDS if polling else RECONCILE_SECONDS):
                self._publish_if_changed(*self.scanner.reconcile(self.board))
                last_full = time.monotonic()
            self._retry_due()

    def _idle_wait(self) -> float:
        """How long the loop may sleep with inotify running: until the next retry is due."""
        due = self.scanner.next_retry()
        if due is None:
            return IDLE_CHECK_SECONDS
        return min(IDLE_CHECK_SECONDS, max(0.0, due - time.monotonic()))

    def _retry_due(self) -> None:
        if not self.scanner.retry_pending:
            return
        files, dirs = self.scanner.due_retries()
        if files or dirs:
            self._publish(*self.scanner.refresh(self.board, files, dirs))

    # --- events -------------------------------------------------------------------------
    def note_path(self, path: str, is_dir: bool) -> None:
        """A change somewhere under the root (an absolute path)."""
        rel = self._relative(path)
        if rel is None:
            return
        with self._dirty_lock:
            if rel == "":
                self._dirty_dirs.add("")  # the root itself changed: re-read everything
            elif rel.split("/", 1)[0] not in LANES:
                return
            elif is_dir:
                self._dirty_dirs.add(rel)
            else:
                self._dirty_files.add(rel)
            self._mark_dirty()

    def note_root_gone(self) -> None:
        # Its inotify watch is gone; a new folder may even reuse the inode.
        self._root_gone = True
        self._wake.set()

    def note_overflow(self) -> None:
        """Events were lost (kernel queue overflow): read the whole tree again."""
        with self._dirty_lock:
            self._dirty_dirs.add("")
            self._mark_dirty()

    def _mark_dirty(self) -> None:
        now = time.monotonic()
        if not self._first_dirty:
            self._first_dirty = now
        self._last_dirty = now
        self._wake.set()

    def _relative(self, path: str) -> str | None:
        root = str(self.root)
        if path == root:
            return ""
        if not path.startswith(root + os.sep):
            return None
        return path[len(root) + 1 :].replace(os.sep, "/")

    def _settle(self) -> None:
        """Wait for the end of a burst, so one move of 300 files is one new board."""
        while not self._stop.is_set():
            with self._dirty_lock:
                first, last = self._first_dirty, self._last_dirty
            now = time.monotonic()
            if not first or now - last >= QUIET_SECONDS or now - first >= MAX_DELAY_SECONDS:
                return
            time.sleep(QUIET_SECONDS / 2)

    def _take_dirty(self) -> tuple[set[str], set[str]]:
        with self._dirty_lock:
            files, dirs = self._dirty_files, self._dirty_dirs
            self._dirty_files, self._dirty_dirs = set(), set()
            self._first_dirty = self._last_dirty = 0.0
            self._wake.clear()
        return files, dirs

    def _clear_dirty(self) -> None:
        self._take_dirty()

    def _flush(self) -> None:
        files, dirs = self._take_dirty()
        if not files and not dirs:
            return
        if "" in dirs:
            self._publish_if_changed(*self.scanner.reconcile(self.board))
        else:
            self._publish(*self.scanner.refresh(self.board, files, _outermost(dirs)))

    def _publish_if_changed(self, board: Board, touched: set[str]) -> None:
        if touched or board.problems != self.board.problems or not self._published_once:
            self._publish(board, touched)

    def _publish(self, board: Board, touched: set[str] | None = None) -> None:
        # Indexes are built here, off the server's event loop, and only for what changed.
        previous = self.board
        board = board.indexed(previous if self._published_once else None, touched)
        self.board = board
        self._published_once = True
        self._ready.set()
        try:
            self.on_board(board, touched, previous)
        except Exception:
            log.exception("could not publish the board")

    # --- the inotify thread -------------------------------------------------------------
    def _start_tree(self) -> None:
        if not self.force_polling:
            tree = TreeWatch(
                str(self.root),
                TreeEvents(self.note_path, self.note_root_gone, self.note_overflow),
                max_depth=self.scanner.max_depth,
                max_watches=self.scanner.max_dirs,
            )
            try:
                tree.start()
            except (WatchLimitReached, OSError) as exc:
                # ENOSPC / EMFILE: the per-user inotify watch or instance limit is reached.
                log.warning(
                    "inotify is not available (%s); falling back to polling every second, "
                    "raise fs.inotify.max_user_watches / max_user_instances to fix",
                    exc,
                )
                tree.stop()
            else:
                self._tree = tree
                self._set_mode("running", "")
                return
        self._set_mode("polling", "")

    def _stop_tree(self) -> None:
        tree, self._tree = self._tree, None
        if tree is not None:
            tree.stop()

    def _heartbeat(self) -> None:
        # The mode again, every cycle: whoever shows it can tell a live watcher from a stuck one.
        self.last_cycle = time.time()
        self._set_mode(self.mode, self._waiting)

    def _set_mode(self, mode: str, waiting: str) -> None:
        self.mode = mode
        self._waiting = waiting
        try:
            self.on_mode(mode, waiting)
        except Exception:
            log.exception("could not report the watcher mode")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _outermost(dirs: set[str]) -> list[str]:
    """Drop directories inside others in the set: re-walking the parent covers them."""
    result: list[str] = []
    for d in sorted(dirs):
        if not any(d.startswith(parent + "/") for parent in result):
            result.append(d)
    return result
