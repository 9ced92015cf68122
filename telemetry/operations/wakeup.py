"""Wakes the operations tailer when a file in the events dir changes (inotify via watchdog).

With it, the tailer needs no fast polling while nothing happens: an idle dashboard would
otherwise wake 40 times a second to look at unchanged files (about 1 % of a core). Without
inotify (a network filesystem, the watch limit reached, the dir not there yet), `active` is
False and the tailer keeps polling.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EventsDirWakeup:
    def __init__(self, directory: Path, wake: Callable[[], None]) -> None:
        self.directory = directory
        self.wake = wake
        self._observer: Any = None
        self._inode: int | None = None

    @property
    def active(self) -> bool:
        """Watching the directory that is there now (not one removed or replaced since)."""
        if self._observer is None or not self._observer.is_alive():
            return False
        try:
            return os.stat(self.directory).st_ino == self._inode
        except OSError:
            return False

    def ensure(self) -> bool:
        """Watch the directory if it exists and is not watched yet; whether it is watched."""
        if self.active:
            return True
        self.close()
        try:
            inode = os.stat(self.directory).st_ino
        except OSError:
            return False
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            wake = self.wake

            class Handler(FileSystemEventHandler):  # type: ignore[misc]
                def on_any_event(self, event: Any) -> None:
                    if event.event_type not in ("opened", "closed_no_write"):
                        wake()

            observer = Observer()
            observer.schedule(Handler(), str(self.directory), recursive=False)
            observer.daemon = True
            observer.start()
        except Exception as exc:  # no inotify here: the tailer keeps polling
            log.info("operations: cannot watch %s (%s); polling it", self.directory, exc)
            return False
        self._observer, self._inode = observer, inode
        return True

    def close(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            try:
                observer.stop()
            except Exception:
                log.debug("operations: stopping the events dir watch failed", exc_info=True)
