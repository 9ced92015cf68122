"""Writing one WebSocket message to many of daphne's sockets, cheaply.

daphne's own path for each viewer and message: an ASGI `send` coroutine, autobahn framing the
text again, a debug log line formatted whether logged or not (autobahn's `sendData`), Twisted
buffering the bytes and asking the event loop to watch the socket for room (two `epoll_ctl`
calls and a callback), then the `send` itself. With 1,000 viewers that was most of the
server's time for a move. Here, per distinct message, the frame is built once
(autobahn's `PreparedMessage`); per viewer, the bytes go straight to the kernel when
Twisted holds nothing for that socket (one `send` call), and through Twisted otherwise.

Frames built once are only shared when no extension changes them: with permessage-deflate
negotiated (daphne does not offer it today) each socket has its own compressor, and
autobahn's `sendPreparedMessage` frames the message for that socket.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from autobahn.websocket.protocol import PreparedMessage
from twisted.internet import tcp
from twisted.protocols import policies

log = logging.getLogger(__name__)


def transport_unsent(send: Any) -> Callable[[], int] | None:
    """How many bytes the socket behind an ASGI `send` still holds, if the server is daphne.

    The protocol's Twisted transport keeps what the kernel has not taken yet. None for other
    servers (the test communicator), which then get no backpressure.
    """
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    transport = getattr(protocol, "transport", None)
    # Read through the wrappers once, not on every call (this runs per viewer and message).
    while type(transport) is policies.ProtocolWrapper:
        transport = transport.transport
    if transport is None or not hasattr(transport, "dataBuffer"):
        return None

    def unsent() -> int:
        buffered = len(transport.dataBuffer) - getattr(transport, "offset", 0)
        return int(buffered + getattr(transport, "_tempDataLen", 0))

    return unsent


def transport_writer(send: Any) -> Callable[[str], bool] | None:
    """A synchronous WebSocket text send beside an ASGI `send`, if the server is daphne.

    daphne hands each application `partial(server.handle_reply, protocol)`. Returns False,
    writing nothing, once the socket is no longer open. None for other servers (the test
    communicator), which then always go through the async `send`.
    """
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    open_state = getattr(protocol, "STATE_OPEN", None)
    if protocol is None or open_state is None or not hasattr(protocol, "sendPreparedMessage"):
        return None
    connection = tcp_connection(protocol.transport)

    def write(text: str) -> bool:
        if protocol.state != open_state:
            return False
        frame = prepared(text)
        # autobahn's own queue (fragmented or synchronous sends) must keep its order.
        if protocol._perMessageCompress is not None or protocol.send_queue or connection is None:
            protocol.sendPreparedMessage(frame)
        else:
            write_eagerly(connection, frame.payloadHybi)
        return True

    return write


@functools.lru_cache(maxsize=64)
def prepared(text: str) -> PreparedMessage:
    """`text` as one unmasked WebSocket text frame, built once for every viewer of it.

    Every viewer of a view holds the same str object: its hash is cached and the lookup
    compares identity first, so a hit costs next to nothing.
    """
    return PreparedMessage(text.encode("utf-8"), False, False, False)


def tcp_connection(transport: Any) -> tcp.Connection | None:
    """The plain TCP connection under wrappers that only pass writes on; None if TLS or other."""
    # Exactly the base wrapper (our connection cap): subclasses may count or time writes.
    while type(transport) is policies.ProtocolWrapper:
        transport = transport.transport
    if isinstance(transport, tcp.Connection) and not transport.TLS:
        return transport
    return None


def write_eagerly(connection: tcp.Connection, data: bytes) -> None:
    """`connection.write(data)`, but straight to the kernel when nothing waits before it."""
    if (
        connection.TLS
        or not connection.connected
        or connection.disconnecting
        or connection._tempDataLen
        or len(connection.dataBuffer) > connection.offset
    ):
        connection.write(data)  # Twisted keeps the order, the TLS layer, the close
        return
    try:
        sent = connection.socket.send(data)
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        connection.write(data)  # let Twisted meet the error and close as it does
        return
    if sent < len(data):
        connection.write(data[sent:])
