"""The in-memory channel layer this process's WebSocket clients share, made linear.

channels' `InMemoryChannelLayer.receive()` first walks every channel and every group to drop
expired messages (`_clean_expired`). Each connected page waits in `receive()`, so every
change costs one walk of N channels per page: N squared. With 1,000 pages that walk was 75 %
of the server's CPU and moves reached pages 17 s late (bench/fanout.py, profiled with
py-spy). Expiry is a matter of seconds (60 s here), so walking once a second is enough.
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer

CLEAN_EVERY_S = 1.0


class LocalChannelLayer(InMemoryChannelLayer):
    _cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < CLEAN_EVERY_S:
            return
        self._cleaned_at = now
        super()._clean_expired()
