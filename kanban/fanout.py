"""One pass over this process's viewers per message: the fan-out, without a channel layer.

Channels' group fan-out costs, per viewer and per message, a deep copy in the in-memory
layer, a wake-up of that viewer's receive loop and its dispatch chain; with 1,000 viewers a
move reached the last page seconds late (bench/fanout.py). Here a message crosses to the
event loop once (`publish_threadsafe`), and one synchronous pass hands it to every viewer
registered, in registration order. A viewer's `deliver` must be quick and must not block:
it takes shared, already rendered bytes and writes them or queues them (`kanban.outbox`).

Pure asyncio; no Django.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Viewer(Protocol):
    def deliver(self, message: dict[str, Any]) -> None: ...


class Hub:
    def __init__(self) -> None:
        # A dict keeps registration order and removes in O(1); values unused.
        self._viewers: dict[Viewer, None] = {}
        self.delivered = 0  # messages handed to viewers, for tests and curiosity

    def __len__(self) -> int:
        return len(self._viewers)

    def register(self, viewer: Viewer) -> None:
        self._viewers[viewer] = None

    def unregister(self, viewer: Viewer) -> None:
        self._viewers.pop(viewer, None)

    def publish(self, message: dict[str, Any]) -> None:
        """Hand `message` to every registered viewer, now. On the event loop's thread only."""
        # A copy: a viewer may unregister (its socket closed) during the pass.
        for viewer in list(self._viewers):
            try:
                viewer.deliver(message)
            except Exception:
                # One broken viewer must not keep the message from the others.
                log.exception("a viewer could not take a %s message", message.get("type"))
        self.delivered += 1

    def publish_threadsafe(self, loop: asyncio.AbstractEventLoop, message: dict[str, Any]) -> None:
        """From any thread (the loop's own too): publish on `loop`, after what is queued."""
        # RuntimeError: the loop closed meanwhile; the server is stopping, nobody to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self.publish, message)
