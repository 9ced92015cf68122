"""`--role watcher`: publish the live state over the relay layer and carry out actions.

Everything goes out through one sender task on daphne's loop, in the order it was recorded:
a change's batch is queued under the state's lock (`BoardState.on_record`), so batches leave
in sequence order, and a snapshot is taken when its turn comes, so what follows it on the
wire is never older than it (a web worker skips batches it already has).

Redis going away costs nothing here but a log line and `/health` saying so: sends fail fast
and are dropped (web workers take the whole state again when it returns), the loop keeps
renewing its group membership, which a restarted Redis has forgotten.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from .. import runtime
from ..state import BoardState
from . import protocol as p

log = logging.getLogger("kanban.roles.watcher")

QUEUE_MAX = 20_000  # past this (Redis hung), batches are dropped; web workers resync
SEND_TIMEOUT_S = 3.0

Item = tuple[Any, ...]


class _Encoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return str(o)  # a YAML !!binary or set in a task's raw data: shown as text


def plain(data: Any) -> Any:
    """`data` as JSON would carry it (a task's YAML dates as text): what msgpack can pack."""
    return json.loads(json.dumps(data, cls=_Encoder))


# Failures that mean Redis is away (or hung), as opposed to a message that cannot be sent.
try:
    from redis.exceptions import ConnectionError as _RedisDown
    from redis.exceptions import TimeoutError as _RedisSlow

    UNREACHABLE: tuple[type[BaseException], ...] = (
        _RedisDown,
        _RedisSlow,
        OSError,
        asyncio.TimeoutError,
    )
except ImportError:  # channels-redis not installed: the role cannot start anyway
    UNREACHABLE = (OSError, asyncio.TimeoutError)


class WatcherRelay:
    def __init__(
        self,
        state: BoardState,
        panel_data: Callable[[str], Any],
        health: Callable[[], dict[str, Any]],
        carry_out: Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]],
    ) -> None:
        self.state = state
        self.boot = state.boot_id
        self._panel_data = panel_data
        self._health = health
        self._carry_out = carry_out
        self.channel = ""
        self.error = ""  # the last Redis failure, until a send succeeds again
        self.error_at = 0.0
        self.sent_seq = 0
        self.dropped = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Item] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._layer: Any = None

    # -- life ------------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """On daphne's loop, from its ready callback."""
        from channels.layers import get_channel_layer

        self._loop = loop
        self._queue = asyncio.Queue()
        self._layer = get_channel_layer(p.RELAY_LAYER)
        self.state.on_record = self._on_record
        runtime.add_panel_listener(self._on_panel)
        self._tasks = [loop.create_task(self._main())]

    def stop(self) -> None:
        self.state.on_record = None
        runtime.remove_panel_listener(self._on_panel)
        for task in self._tasks:
            task.cancel()

    async def _main(self) -> None:
        assert self._layer is not None
        self.channel = await self._layer.new_channel()
        log.info("relay: watcher %s publishing (channel %s)", self.boot, self.channel)
        loop = asyncio.get_running_loop()
        self._tasks += [
            loop.create_task(self._sender()),
            loop.create_task(self._listener()),
            loop.create_task(self._heartbeat()),
        ]
        self._put(("snapshot_all",))  # web workers already up take this watcher's state

    # -- what goes out ---------------------------------------------------------------------
    def _on_record(self, batch: dict[str, Any]) -> None:
        # Any thread, under the state's lock: hand it to the loop, keeping the order.
        self._put_threadsafe(("batch", batch))

    def _on_panel(self, name: str, html: str) -> None:
        try:
            data = plain(self._panel_data(name))
        except Exception:
            log.exception("relay: could not read the data of panel %r", name)
            data = None
        self._put_threadsafe(("panel", name, html, data))

    def _put_threadsafe(self, item: Item) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._put, item)

    def _put(self, item: Item) -> None:
        assert self._queue is not None
        if self._queue.qsize() >= QUEUE_MAX and item[0] == "batch":
            self.dropped += 1
            self.sent_seq = max(self.sent_seq, item[1]["seq"])  # heartbeats show the gap
            return
        self._queue.put_nowait(item)

    async def _sender(self) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            try:
                await self._send_item(item)
            except asyncio.CancelledError:
                raise
            except UNREACHABLE as exc:
                self._failed(exc)
            except Exception:
                log.exception("relay: a %s message could not be sent; dropped", item[0])
            else:
                self._succeeded()

    async def _send_item(self, item: Item) -> None:
        kind = item[0]
        if kind == "batch":
            batch = item[1]
            self.sent_seq = max(self.sent_seq, batch["seq"])
            await self._group_send({"type": p.BATCH, "boot": self.boot, **plain(batch)})
        elif kind == "panel":
            _, name, html, data = item
            await self._group_send(
                {"type": p.PANEL, "boot": self.boot, "name": name, "html": html, "data": data}
            )
        elif kind == "heartbeat":
            health = plain(self._health())
            message = {"type": p.HEARTBEAT, "boot": self.boot, "seq": self.sent_seq}
            await self._group_send({**message, "health": health})
        elif kind in ("snapshot", "snapshot_all"):
            loop = asyncio.get_running_loop()
            # Serialising 10,000 tasks takes a while: off the loop, but in its turn.
            snapshot = await loop.run_in_executor(None, self._snapshot)
            if kind == "snapshot":
                await self._send(item[1], snapshot)
            else:
                await self._group_send(snapshot)
        elif kind == "answer":
            await self._send(item[1], item[2])

    def _snapshot(self) -> dict[str, Any]:
        message = plain(self.state.snapshot_message())
        names = runtime.panel_names()
        panels = {name: runtime.panel_html(name) for name in names}
        data: dict[str, Any] = {}
        for name in names:
            try:
                data[name] = plain(self._panel_data(name))
            except Exception:
                log.exception("relay: could not read the data of panel %r", name)
        self.sent_seq = max(self.sent_seq, message["seq"])
        return {
            "type": p.SNAPSHOT,
            "boot": self.boot,
            **message,
            "panels": panels,
            "data": data,
            "health": plain(self._health()),
        }

    async def _group_send(self, message: dict[str, Any]) -> None:
        await asyncio.wait_for(self._layer.group_send(p.WEB_GROUP, message), SEND_TIMEOUT_S)

    async def _send(self, channel: str, message: dict[str, Any]) -> None:
        await asyncio.wait_for(self._layer.send(channel, message), SEND_TIMEOUT_S)

    async def _heartbeat(self) -> None:
        while True:
            try:
                # Renewed every time: a restarted Redis has forgotten who listens.
                await asyncio.wait_for(
                    self._layer.group_add(p.WATCHER_GROUP, self.channel), SEND_TIMEOUT_S
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
            self._put(("heartbeat",))
            await asyncio.sleep(p.HEARTBEAT_S)

    # -- what comes in ---------------------------------------------------------------------
    async def _listener(self) -> None:
        while True:
            try:
                message = await self._layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                await asyncio.sleep(1.0)
                continue
            try:
                self._take(message)
            except Exception:
                log.exception("relay: a request could not be handled")

    def _take(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        reply_to = message.get("reply_to")
        if not isinstance(reply_to, str) or not reply_to:
            log.warning("relay: a %s request without a reply channel; ignored", kind)
            return
        if kind == p.WANT_SNAPSHOT:
            self._put(("snapshot", reply_to))
        elif kind == p.ACTION:
            asyncio.get_running_loop().create_task(self._act(message, reply_to))
        elif kind == p.PAGE:
            asyncio.get_running_loop().create_task(self._page(message, reply_to))
        else:
            log.warning("relay: unknown request %r; ignored", kind)

    async def _act(self, message: dict[str, Any], reply_to: str) -> None:
        action, args = message.get("action"), message.get("args")
        if action not in p.ACTIONS or not isinstance(args, dict):
            status, body = 400, {"error": f"unknown action {action!r}"}
        else:
            try:
                status, body = await asyncio.to_thread(self._carry_out, action, args)
            except Exception:
                log.exception("relay: action %s failed", action)
                status, body = 500, {"error": "the watcher could not carry this out"}
        answer = {"type": p.ANSWER, "id": message.get("id"), "status": status, "body": plain(body)}
        self._put(("answer", reply_to, answer))

    async def _page(self, message: dict[str, Any], reply_to: str) -> None:
        from . import pages

        try:
            answer = await pages.render(message)
        except Exception:
            log.exception("relay: page %r could not be rendered", message.get("path"))
            answer = pages.text_answer(500, "The watcher could not render this page.")
        self._put(("answer", reply_to, {**answer, "id": message.get("id")}))

    # -- health ----------------------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
        if not self.error:
            log.error("relay: Redis unreachable: %s", text)
        self.error, self.error_at = text, time.time()

    def _succeeded(self) -> None:
        if self.error:
            log.info("relay: Redis reachable again")
        self.error = ""

    def health(self) -> dict[str, Any]:
        if self.error:
            return {"status": "degraded", "reason": f"Redis unreachable: {self.error}"}
        if not self.channel:
            return {"status": "degraded", "reason": "not connected to Redis yet"}
        return {"status": "ok", "reason": None}


# -- the process's one watcher relay ------------------------------------------------------
relay: WatcherRelay | None = None


def prepare() -> WatcherRelay:
    global relay
    from ..views import health_fields
    from . import domains

    relay = WatcherRelay(runtime.STATE, domains.panel_data, health_fields, domains.carry_out)
    return relay


def http_only(application: Any) -> Any:
    """The ASGI app minus WebSockets: a watcher has no viewers (the handshake gets 403)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4403})
            return
        await application(scope, receive, send)

    return app
