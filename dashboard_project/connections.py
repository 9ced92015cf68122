"""Limits on HTTP connections that daphne and Twisted do not set by themselves.

Twisted's idle timeout starts again on every byte, so a client trickling one header line every
few seconds (slowloris) holds its connection, and a file descriptor, for ever. Here:
- each request must arrive whole (request line, headers and body) within `REQUEST_DEADLINE`
  seconds of the connection opening or of the previous response;
- an idle keep-alive connection is closed after `IDLE_TIMEOUT` seconds;
- at most `cap` connections are open at once; more are closed on arrival, so descriptors
  stay free for reading task files;
- the process's soft limit on open files is raised to its hard limit.
"""

from __future__ import annotations

import logging
import resource
import socket
import time
from typing import Any

from twisted.protocols import policies
from twisted.web import http

log = logging.getLogger(__name__)

REQUEST_DEADLINE = 15.0
IDLE_TIMEOUT = 30


def raise_open_files_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard one; return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open files limit from %d: %s", soft, exc)
    return soft


def connection_cap(open_files_limit: int) -> int:
    # A quarter of the descriptors stay for task files, inotify, SQLite and the threads.
    return max(64, open_files_limit * 3 // 4)


class DeadlineHTTPChannel(http.HTTPChannel):
    """Twisted's HTTP channel, with a deadline for receiving each whole request."""

    _deadline: Any = None  # an IDelayedCall while armed

    def connectionMade(self) -> None:
        super().connectionMade()
        self._arm()

    def allContentReceived(self) -> None:
        self._disarm()
        super().allContentReceived()

    def requestDone(self, request: Any) -> None:
        super().requestDone(request)
        if self.persistent and self.transport is not None and not self._handlingRequest:
            self._arm()

    def connectionLost(self, reason: Any = None) -> None:
        self._disarm()
        super().connectionLost(reason)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.callLater(REQUEST_DEADLINE, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        log.info("closing a connection that sent no whole request in %.0f s", REQUEST_DEADLINE)
        if self.transport is not None:
            self.transport.abortConnection()


def _deadline_channel(factory: Any = None) -> Any:
    # What Twisted's HTTPFactory builds by default, with our channel inside.
    return http._GenericHTTPChannelProtocol(DeadlineHTTPChannel())  # type: ignore[attr-defined]


class CappedFactory(policies.WrappingFactory):
    """Wraps the HTTP factory; the wrapper stays in place when daphne upgrades to WebSocket
    (daphne hands a `ProtocolWrapper` transport the new protocol), so the count stays right."""

    def __init__(self, wrapped: Any, cap: int) -> None:
        super().__init__(wrapped)
        self.cap = cap

    def buildProtocol(self, addr: Any) -> Any:
        if len(self.protocols) >= self.cap:
            log.warning("refusing a connection: %d are open already", len(self.protocols))
            return None
        return super().buildProtocol(addr)

    def registerProtocol(self, p: Any) -> None:
        super().registerProtocol(p)
        keep_alive(p.transport)


# The kernel finds a dead peer (a machine gone, a cable pulled) with TCP keepalive probes: no
# Python runs for them, unlike WebSocket pings, which then need not be frequent (rundashboard's
# WEBSOCKET_PING_S). A silent peer is declared dead after KEEPIDLE + KEEPCNT * KEEPINTVL s.
KEEPIDLE_S, KEEPINTVL_S, KEEPCNT = 60, 10, 6


def keep_alive(transport: Any) -> None:
    try:
        transport.setTcpKeepAlive(1)
        sock = transport.getHandle()
        for name, value in (
            ("TCP_KEEPIDLE", KEEPIDLE_S),
            ("TCP_KEEPINTVL", KEEPINTVL_S),
            ("TCP_KEEPCNT", KEEPCNT),
        ):
            if hasattr(socket, name):  # Linux; elsewhere the system's defaults apply
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    except (AttributeError, OSError) as exc:  # not a TCP socket (a test transport)
        log.debug("no TCP keepalive on %r: %s", transport, exc)


def limit(http_factory: Any, cap: int) -> CappedFactory:
    """Apply the limits to daphne's HTTP factory; listen on what this returns."""
    http_factory.protocol = _deadline_channel
    http_factory.timeOut = IDLE_TIMEOUT
    return CappedFactory(http_factory, cap)


# daphne walks every connection each second (`application_checker`: reaps finished apps) and
# every two (`timeout_checker`: handshake timeouts, pings). With 1,000 idle pages those walks
# were most of what the pages cost. Nothing there needs a finer grain than a few seconds:
# pings go every few minutes, the handshake limit is 5 s, our own request deadline is separate.
CHECK_EVERY_S = 5.0


class SparseCheckers:
    """A mixin for daphne's Server: its periodic walks over all connections, every
    CHECK_EVERY_S. daphne reschedules each walk itself (1 s, 2 s); the ticks in between only
    reschedule."""

    _apps_checked_at = 0.0
    _timeouts_checked_at = 0.0

    def application_checker(self) -> None:
        now = time.monotonic()
        if now - self._apps_checked_at >= CHECK_EVERY_S:
            self._apps_checked_at = now
            super().application_checker()  # type: ignore[misc]  # reschedules itself
        else:
            _reactor().callLater(1, self.application_checker)

    def timeout_checker(self) -> None:
        now = time.monotonic()
        if now - self._timeouts_checked_at >= CHECK_EVERY_S:
            self._timeouts_checked_at = now
            super().timeout_checker()  # type: ignore[misc]
        else:
            _reactor().callLater(2, self.timeout_checker)


def _reactor() -> Any:
    from twisted.internet import reactor  # the asyncio reactor daphne installed

    return reactor
