"""Watching the collab dir: watchdog events in, whole consistent boards out.

Raw events only say *where* to look; each burst is coalesced, the touched files and
subtrees are re-read, and the resulting board goes to `on_board`. Runs in its own thread
and never dies of an exception: a dead observer would silently freeze the board.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from .board import EMPTY, Board, Scanner
from .tasks import LANES

log = logging.getLogger(__name__)
# watchdog logs an ERROR when an event arrives while its emitter is being stopped: a harmless
# race at every shutdown, which users must not read as a failure.
logging.getLogger("watchdog.observers.inotify").addFilter(
    lambda record: "thread is inactive" not in record.getMessage()
)

# Opens and no-write closes are left out on purpose: our own reads would wake us forever.
EVENT_FILTER = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileAttribEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]

# A burst (git checkout, a script moving many files) is over once the disk has been quiet
# this long; a never-ending burst still publishes at least this often.
QUIET_SECONDS = 0.002
MAX_DELAY_SECONDS = 0.15
ROOT_CHECK_SECONDS = 0.5
# Startup of a huge tree: cards parsed at once per lane and agent (the page shows up to 40),
# then the rest in chunks of about 0.1 s, so a change waits at most that long meanwhile.
EAGER_PER_GROUP = 40
FILL_CHUNK = 200


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: BoardWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self.watcher.note(event)
        except Exception:  # an exception escaping here kills the observer thread
            log.exception("could not handle file event %r", event)


class BoardWatcher:
    def __init__(
        self,
        root: Path,
        on_board: Callable[[Board, set[str] | None, Board], None],
        on_mode: Callable[[str, str], None] | None = None,
        force_polling: bool = False,
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.on_board = on_board
        self.on_mode = on_mode or (lambda mode, waiting: None)
        self.force_polling = force_polling
        self.mode = "stopped"
        self.scanner = Scanner(self.root)
        self.board: Board = EMPTY
        self._dirty_files: set[str] = set()
        self._dirty_dirs: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
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
        self._stop_observer()
        self._set_mode("stopped", "")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch_once()
            except Exception:
                log.exception("the watcher failed; starting it again")
                self._stop_observer()
                self._stop.wait(0.5)

    def _watch_once(self) -> None:
        if not self.root.is_dir():
            self._set_mode("stopped", str(self.root))
            if not self._published_once or self.board is not EMPTY:
                self._publish(EMPTY)
            log.info("waiting for %s to appear", self.root)
            while not self._stop.is_set() and not self.root.is_dir():
                self._stop.wait(ROOT_CHECK_SECONDS)
            if self._stop.is_set():
                return
        root_id = _identity(self.root)
        self._start_observer()
        self._publish(self.scanner.scan(self.board, eager=EAGER_PER_GROUP))
        while not self._stop.is_set():
            # While a huge tree is still being read, changes come first, then the next chunk.
            woke = self._wake.wait(0 if self.board.pending_count else ROOT_CHECK_SECONDS)
            if self._stop.is_set():
                return
            if self._root_gone or _identity(self.root) != root_id:
                self._root_gone = False
                log.warning("%s was removed or replaced; watching it anew", self.root)
                self._stop_observer()
                self._clear_dirty()
                return
            if woke:
                self._settle()
                self._flush()
            elif self.board.pending_count:
                board = self.scanner.fill_pending(self.board, FILL_CHUNK)
                self._publish(board, self.scanner.last_touched)

    # --- events -------------------------------------------------------------------------
    def note(self, event: FileSystemEvent) -> None:
        paths = [event.src_path]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(dest)
        is_dir = event.is_directory
        with self._dirty_lock:
            for raw in paths:
                rel = self._relative(os.fsdecode(raw))
                if rel is None:
                    continue
                if rel == "":
                    # The root itself changed: re-read everything.
                    self._dirty_dirs.add("")
                    if event.event_type in ("deleted", "moved") and raw == event.src_path:
                        # Its inotify watch is gone; a new folder may even reuse the inode.
                        self._root_gone = True
                elif rel.split("/", 1)[0] not in LANES:
                    continue
                elif is_dir:
                    self._dirty_dirs.add(rel)
                else:
                    self._dirty_files.add(rel)
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
            board = self.scanner.scan(self.board)
        else:
            board = self.scanner.refresh(self.board, files, _outermost(dirs))
        self._publish(board, self.scanner.last_touched)

    def _publish(self, board: Board, touched: set[str] | None = None) -> None:
        # Indexes are built here, off the server's event loop, and only for what changed.
        previous = self.board
        board.index(previous, touched)
        self.board = board
        self._published_once = True
        self._ready.set()
        try:
            self.on_board(board, touched, previous)
        except Exception:
            log.exception("could not publish the board")

    # --- the observer -------------------------------------------------------------------
    def _start_observer(self) -> None:
        handler = _Handler(self)
        if not self.force_polling:
            observer: BaseObserver = Observer()
            try:
                observer.schedule(
                    handler, str(self.root), recursive=True, event_filter=EVENT_FILTER
                )
                observer.start()
            except OSError as exc:
                # ENOSPC: the per-user inotify watch or instance limit is reached.
                log.warning(
                    "inotify is not available (%s); falling back to polling every second, "
                    "raise fs.inotify.max_user_watches / max_user_instances to fix",
                    exc,
                )
                _quiet_stop(observer)
            else:
                self._observer = observer
                self._set_mode("running", "")
                return
        observer = PollingObserver(timeout=1)
        observer.schedule(handler, str(self.root), recursive=True, event_filter=EVENT_FILTER)
        observer.start()
        self._observer = observer
        self._set_mode("polling", "")

    def _stop_observer(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            _quiet_stop(observer)

    def _set_mode(self, mode: str, waiting: str) -> None:
        self.mode = mode
        try:
            self.on_mode(mode, waiting)
        except Exception:
            log.exception("could not report the watcher mode")


def _quiet_stop(observer: BaseObserver) -> None:
    try:
        observer.stop()
        if observer.is_alive():
            observer.join(timeout=1)
    except Exception:
        log.debug("observer did not stop cleanly", exc_info=True)


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
