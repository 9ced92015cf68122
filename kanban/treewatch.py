"""inotify on the task tree, one watch per folder, added without recursion and bounded.

watchdog's recursive observer walks new trees with a recursive `os.walk` (a 1,000-deep tree
raises RecursionError on Python 3.10/3.11 and kills its thread for good), never tells a
handler that the kernel queue overflowed, and does not watch a folder that becomes readable
later. So the tree is watched here through watchdog's own inotify binding (`InotifyFD`), with
a loop instead of recursion, the scanner's depth and count limits, overflow and attribute
changes reported, and a thread whose death the board watcher can see.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from watchdog.observers.inotify_c import (
    CallbackId,
    InotifyConstants,
    InotifyEvent,
    InotifyFD,
    Mask,
    WatchDescriptor,
)

from .scanner import depth_below_owner
from .tasks import LANES

log = logging.getLogger(__name__)

_C = InotifyConstants
# Opens and no-write closes are left out on purpose: our own reads would wake us forever.
MASK = (
    _C.IN_CREATE
    | _C.IN_DELETE
    | _C.IN_MOVED_FROM
    | _C.IN_MOVED_TO
    | _C.IN_CLOSE_WRITE
    | _C.IN_MODIFY
    | _C.IN_ATTRIB
    | _C.IN_DELETE_SELF
    | _C.IN_MOVE_SELF
)
_CALLBACK_ID = CallbackId(1)


class WatchLimitReached(OSError):
    """The per-user inotify watch or instance limit: polling is the way on."""


@dataclass
class TreeEvents:
    """Where the tree watch reports (each called on the inotify thread; must not block)."""

    changed: Callable[[str, bool], None]  # absolute path, is a directory
    root_gone: Callable[[], None]
    overflow: Callable[[], None]


class TreeWatch:
    def __init__(self, root: str, events: TreeEvents, *, max_depth: int, max_watches: int) -> None:
        self.root = root
        self.events = events
        self.max_depth = max_depth
        self.max_watches = max_watches
        self._fd: InotifyFD | None = None
        self._lock = threading.Lock()
        self._wd_by_path: dict[str, WatchDescriptor] = {}
        self._path_by_wd: dict[WatchDescriptor, str] = {}

    def start(self) -> None:
        try:
            self._fd = InotifyFD()  # our own instance: its thread lives and dies with us
        except OSError as exc:
            raise WatchLimitReached(exc.errno, f"no inotify instance: {exc.strerror}") from None
        self._fd.name = "board-inotify"
        self._fd.daemon = True
        self._fd.start()
        self._add(self.root, follow=True)  # the root may itself be a link
        self.add_tree(self.root)

    def stop(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fd.stop()
                fd.join(timeout=1)
            except Exception:
                log.debug("inotify thread did not stop cleanly", exc_info=True)

    def is_alive(self) -> bool:
        return self._fd is not None and self._fd.is_alive()

    @property
    def watch_count(self) -> int:
        return len(self._wd_by_path)

    # --- watches ------------------------------------------------------------------------
    def add_tree(self, top: str) -> None:
        """Watch `top` and every folder below it that the scanner would read; no recursion."""
        stack = [top]
        while stack:
            folder = stack.pop()
            if folder != self.root and not self._add(folder):
                continue
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue  # unreadable or gone: the scanner lists it, a chmod brings it back
            for entry in entries:
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir and self._wanted(entry.path):
                    stack.append(entry.path)

    def _wanted(self, path: str) -> bool:
        rel = self._relative(path)
        if not rel or any(p.startswith(".") for p in rel.split("/")):
            return False
        return rel.split("/", 1)[0] in LANES and depth_below_owner(rel) <= self.max_depth

    def _add(self, path: str, follow: bool = False) -> bool:
        fd = self._fd
        if fd is None:
            return False
        with self._lock:
            if path in self._wd_by_path:
                return True
            if len(self._wd_by_path) >= self.max_watches:
                return False
        mask = Mask(MASK | _C.IN_ONLYDIR | (0 if follow else _C.IN_DONT_FOLLOW))
        try:
            wd = fd.add_callback(os.fsencode(path), mask, self, _CALLBACK_ID)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise WatchLimitReached(exc.errno, "the inotify watch limit is reached") from None
            if path == self.root:
                raise
            return False  # gone or unreadable meanwhile
        if wd < 0:
            # watchdog passes EACCES over silently (wd -1): an unreadable folder. A chmod
            # that makes it readable comes as IN_ATTRIB on its parent, and we try again.
            self._drop_callbacks([wd])
            return False
        with self._lock:
            stale = self._path_by_wd.pop(wd, None)  # a moved folder keeps its watch
            if stale is not None:
                self._wd_by_path.pop(stale, None)
            self._wd_by_path[path] = wd
            self._path_by_wd[wd] = path
        return True

    def _forget_tree(self, top: str) -> None:
        """Drop the watches of a folder that moved or went away, and of everything below."""
        prefix = top + os.sep
        with self._lock:
            gone = [
                (p, wd) for p, wd in self._wd_by_path.items() if p == top or p.startswith(prefix)
            ]
            for p, wd in gone:
                del self._wd_by_path[p]
                self._path_by_wd.pop(wd, None)
        self._drop_callbacks([wd for _, wd in gone])

    def _drop_callbacks(self, wds: list[WatchDescriptor]) -> None:
        fd = self._fd
        if fd is not None and wds:
            try:
                fd.remove_callbacks([(wd, _CALLBACK_ID) for wd in wds])
            except Exception:
                log.debug("could not remove watches %s", wds, exc_info=True)

    # --- the inotify thread calls these (watchdog's WatchCallback) ------------------------
    def on_event(self, event: InotifyEvent) -> None:
        try:
            self._on_event(event)
        except WatchLimitReached:
            log.warning("the inotify watch limit is reached: new folders are not watched")
            self.events.overflow()  # a full rescan at least shows what is there now
        except Exception:  # an exception escaping here kills the inotify thread
            log.exception("could not handle inotify event %r", event)

    def _on_event(self, event: InotifyEvent) -> None:
        with self._lock:
            base = self._path_by_wd.get(event.wd)
        if base is None:
            return
        if event.is_delete_self or event.is_move_self:
            if base == self.root:
                self.events.root_gone()
            return
        path = os.path.join(base, os.fsdecode(event.name)) if event.name else base
        if event.is_directory:
            if event.is_moved_from or event.is_delete:
                self._forget_tree(path)
            elif (event.is_create or event.is_moved_to or event.is_attrib) and self._wanted(path):
                # Watches first, then the news: the re-walk that follows sees what they miss.
                self.add_tree(path)
        self.events.changed(path, event.is_directory)

    def on_watch_deleted(self, wd: WatchDescriptor) -> None:
        with self._lock:
            path = self._path_by_wd.pop(wd, None)
            if path is not None and self._wd_by_path.get(path) == wd:
                del self._wd_by_path[path]

    def on_queue_overflow(self) -> None:
        log.warning("the inotify queue overflowed: reading the whole tree again")
        self.events.overflow()

    def _relative(self, path: str) -> str:
        if path == self.root:
            return ""
        return path[len(self.root) + 1 :].replace(os.sep, "/")
