"""Flow control for streamed HTTP responses under daphne (security review finding 8a).

daphne's `send` returns at once and Twisted keeps whatever the socket cannot take, so a client
reading an export slowly made the server hold the whole export in memory. Twisted does offer
flow control: a producer registered on the request is paused when the socket's send buffer is
full and resumed when it drains. `HttpBackpressure.handle_reply` registers one on a streamed
response and makes the application's `send` wait while it is paused, so a streaming view
produces only as fast as its client reads.
"""

from __future__ import annotations

import asyncio
from typing import Any

ATTRIBUTE = "_dashboard_writable"


class Writable:
    """A Twisted IPushProducer (duck-typed) that only records whether writing may go on."""

    def __init__(self, paused: bool) -> None:
        self.event = asyncio.Event()
        if not paused:
            self.event.set()

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's interface
        self.event.clear()

    def resumeProducing(self) -> None:  # noqa: N802
        self.event.set()

    def stopProducing(self) -> None:  # noqa: N802 - the connection is gone: stop waiting
        self.event.set()


class HttpBackpressure:
    """Mix into daphne's `Server` (before it) to make HTTP body sends wait for the socket."""

    async def handle_reply(self, protocol: Any, message: dict) -> None:
        streaming = message.get("type") == "http.response.body" and message.get("more_body")
        writable: Writable | None = getattr(protocol, ATTRIBUTE, None)
        if writable is not None and not streaming and message.get("type") == "http.response.body":
            # The last body message: let go before the request finishes and is cleaned up.
            setattr(protocol, ATTRIBUTE, None)
            if getattr(protocol, "producer", None) is writable:
                protocol.unregisterProducer()
        await super().handle_reply(protocol, message)  # type: ignore[misc]
        if not streaming or getattr(protocol, "finished", True) or not hasattr(protocol, "channel"):
            return
        if writable is None and getattr(protocol, "producer", None) is None:
            channel = protocol.channel
            if channel is None:
                return
            writable = Writable(paused=bool(getattr(channel, "_waitingForTransport", False)))
            protocol.registerProducer(writable, True)
            setattr(protocol, ATTRIBUTE, writable)
        if writable is not None:
            await writable.event.wait()
