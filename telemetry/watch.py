"""Wake the telemetry reader when its file (or a side file) changes: watchdog on the directory.

The reader also polls (every 2 s while this runs, 0.5 s otherwise), so this makes changes
show at once; when the directory cannot be watched the mode says `polling` and the reader
polls every 0.5 s. No Django.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

log = logging.getLogger("telemetry")

WATCHED_SUFFIXES = ("", "-wal", "-journal")
# watchdog 7 also reports opens and reads (ours included): those are not changes.
EVENT_FILTER = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileClosedEvent,
]


class _Handler(FileSystemEventHandler):
    def __init__(self, names: set[str], wake: threading.Event) -> None:
        self.names = names
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        # An exception escaping here would kill the observer thread silently.
        try:
            for p in (event.src_path, getattr(event, "dest_path", "")):
                if p and Path(str(p)).name in self.names:
                    self.wake.set()
                    return
        except Exception:
            log.exception("telemetry watcher: bad event %r", event)


class FileWatch:
    """Sets `wake` on changes to `path`, `path`-wal or `path`-journal."""

    def __init__(self, path: Path, wake: threading.Event) -> None:
        self.path = path
        self.wake = wake
        self.mode = "stopped"
        self._observer: Any = None

    def start(self) -> str:
        self.stop()
        directory = self.path.resolve().parent
        if not directory.is_dir():
            self.mode = "polling"
            return self.mode
        try:
            observer = Observer()
            names = {self.path.name + s for s in WATCHED_SUFFIXES}
            observer.schedule(
                _Handler(names, self.wake),
                str(directory),
                recursive=False,
                event_filter=EVENT_FILTER,
            )
            observer.daemon = True
            observer.start()
        except Exception:
            log.exception("telemetry watcher: cannot watch %s, polling", directory)
            self.mode = "polling"
            return self.mode
        self._observer = observer
        self.mode = "running"
        return self.mode

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            try:
                observer.stop()
                observer.join(2)
            except Exception:
                log.exception("telemetry watcher: stopping the observer failed")
        self.mode = "stopped"
