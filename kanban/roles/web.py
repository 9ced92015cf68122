"""`--role web`: this process's live state, mirrored from the watcher over the relay layer.

The watcher's batches are applied to `runtime.STATE` and its panels kept as `runtime`
panels, then fanned out to this process's WebSocket clients through the in-memory layer,
exactly as `--role all` does: consumers and views cannot tell the difference.

A web worker is in sync once it holds a snapshot and every batch since. It takes the whole
state again (a snapshot, then the batches that follow it) when it starts, when a batch or a
heartbeat shows it missed something, when the watcher restarted (a new boot id), and after
Redis or the watcher went silent; each time every page here gets the whole state again.

Actions pressed here are sent to the watcher and answered; `forward` gives 503 when no
answer comes within `ACTION_TIMEOUT_S`. Pages that read the workspace are rendered by the
watcher on request (`fetch_page`, `kanban.roles.pages`), within `PAGE_TIMEOUT_S`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.template.loader import render_to_string

from .. import runtime
from ..state import BoardState
from . import protocol as p

log = logging.getLogger("kanban.roles.web")

STATUS_PANEL = "connection-status"
TICK_S = 0.5


class NoWatcher(Exception):
    """The watcher could not be asked or did not answer in time: the message says which."""


def safe_url(url: str) -> str:
    """A Redis URL without its password, for /health and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class WebRelay:
    def __init__(self, state: BoardState, redis_url: str) -> None:
        self.state = state
        self.redis_url = safe_url(redis_url)
        self.watcher_boot = ""
        self.synced = False
        self.heard_at = 0.0  # monotonic: the watcher's last message
        self.redis_error = ""
        self.watcher_health: dict[str, Any] = {}
        self.panels: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.channel = ""
        self.snapshots = 0
        self._asked_at = 0.0
        self._joined_at = 0.0
        self._shown_reason: str | None = None
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._layer: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- life ------------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """On daphne's loop, from its ready callback."""
        from channels.layers import get_channel_layer

        self._layer = get_channel_layer(p.RELAY_LAYER)
        self._tasks = [loop.create_task(self._main())]

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _main(self) -> None:
        self.channel = await self._layer.new_channel()
        log.info("relay: web worker listening on %s (%s)", self.channel, self.redis_url)
        loop = asyncio.get_running_loop()
        self._tasks += [loop.create_task(self._listen()), loop.create_task(self._tick())]

    # -- health ----------------------------------------------------------------------------
    def reason(self, now: float | None = None) -> str:
        """Why this worker's pages may be behind, or "" when they are live."""
        now = time.monotonic() if now is None else now
        if self.redis_error:
            return f"Redis unreachable at {self.redis_url}: {self.redis_error}"
        if not self.heard_at:
            return "no word from the watcher yet"
        silent = now - self.heard_at
        if silent > p.WATCHER_SILENT_S:
            return f"no word from the watcher for {silent:.0f} s"
        if not self.synced:
            return "taking the whole state from the watcher"
        return ""

    def health(self) -> dict[str, Any]:
        reason = self.reason()
        heard = round(time.monotonic() - self.heard_at, 1) if self.heard_at else None
        return {
            "status": "degraded" if reason else "ok",
            "reason": reason or None,
            "redis": self.redis_url,
            "watcher_boot": self.watcher_boot or None,
            "watcher_last_heard_s": heard,
            "seq": self.state.seq,
        }

    def status_html(self) -> str:
        """`#connection-status` as this worker's pages should show it."""
        reason = self.reason()
        return render_to_string("kanban/roles/status.html", {"reason": reason}).strip()

    def panel_html(self, name: str, fallback: Any) -> str:
        html = self.panels.get(name)
        if html is not None:
            return html
        return str(fallback()) if fallback is not None else ""

    # -- what comes in ---------------------------------------------------------------------
    async def _listen(self) -> None:
        while True:
            try:
                message = await self._layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._redis_failed(exc)
                await asyncio.sleep(1.0)
                continue
            self._redis_ok()
            try:
                self.take(message)
            except Exception:
                log.exception("relay: a message from the watcher could not be applied")
                self._lost_sync("a message could not be applied")

    def take(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in (p.ANSWER, p.PAGE_ANSWER):
            future = self._answers.pop(str(message.get("id")), None)
            if future is not None and not future.done():
                future.set_result(message)
            return
        boot = str(message.get("boot", ""))
        self.heard_at = time.monotonic()
        if boot != self.watcher_boot and kind != p.SNAPSHOT:
            if self.watcher_boot:
                log.info("relay: the watcher restarted (%s -> %s)", self.watcher_boot, boot)
            self.watcher_boot = boot
            self._lost_sync("a new watcher")
        if kind == p.BATCH:
            self._take_batch(message)
        elif kind == p.PANEL:
            self._take_panel(message["name"], message["html"], message.get("data"))
        elif kind == p.HEARTBEAT:
            self.watcher_health = message.get("health") or {}
            if self.synced and message["seq"] > self.state.seq:
                self._lost_sync(f"missed changes {self.state.seq + 1}..{message['seq']}")
        elif kind == p.SNAPSHOT:
            self._take_snapshot(message)
        self._show_status()

    def _take_batch(self, message: dict[str, Any]) -> None:
        if not self.synced or message["seq"] <= self.state.seq:
            return  # waiting for a snapshot, or already in the one we have
        if not self.state.apply_batch(message):
            self._lost_sync(f"change {message['seq']} came after {self.state.seq}")
            return
        runtime.send_to_group({"type": "board.update", "seq": message["seq"]})

    def _take_panel(self, name: str, html: str, data: Any) -> None:
        self.panels[name] = html
        self.data[name] = data
        runtime.remember_panel(name, html)
        runtime.send_to_group(
            {"type": "panel.update", "name": name, "html": html}, runtime.PANELS_GROUP
        )

    def _take_snapshot(self, message: dict[str, Any]) -> None:
        self.watcher_boot = str(message["boot"])
        self.state.load_snapshot(message, boot_id=self.watcher_boot)
        for name, html in message.get("panels", {}).items():
            self.panels[name] = html
            runtime.remember_panel(name, html)
        self.data.update(message.get("data", {}))
        self.watcher_health = message.get("health") or {}
        was_synced, self.synced = self.synced, True
        self.snapshots += 1
        log.info(
            "relay: took the whole state at change %d from watcher %s%s",
            message["seq"],
            self.watcher_boot,
            "" if was_synced else " (every page here gets it again)",
        )
        runtime.send_to_group({"type": "board.resync"})

    def _lost_sync(self, why: str) -> None:
        if self.synced:
            log.info("relay: out of step with the watcher (%s); asking for the whole state", why)
        self.synced = False
        self._asked_at = 0.0  # ask now

    # -- Redis -----------------------------------------------------------------------------
    def _redis_failed(self, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}"[:300]
        if not self.redis_error:
            log.error("relay: Redis unreachable at %s: %s", self.redis_url, text)
        self.redis_error = text
        self._lost_sync("Redis went away")
        self._show_status()

    def _redis_ok(self) -> None:
        if self.redis_error:
            log.info("relay: Redis at %s reachable again", self.redis_url)
            self.redis_error = ""

    async def _tick(self) -> None:
        """Renew the group membership, ask for what is missing, keep the pages' status true."""
        while True:
            now = time.monotonic()
            try:
                if now - self._joined_at >= p.REJOIN_S:
                    await asyncio.wait_for(
                        self._layer.group_add(p.WEB_GROUP, self.channel), p.ACTION_TIMEOUT_S
                    )
                    self._joined_at = now
                    self._redis_ok()
                if self.heard_at and now - self.heard_at > p.WATCHER_SILENT_S:
                    self._lost_sync("the watcher went silent")
                if not self.synced and now - self._asked_at >= p.SNAPSHOT_RETRY_S:
                    self._asked_at = now
                    await asyncio.wait_for(
                        self._layer.group_send(
                            p.WATCHER_GROUP, {"type": p.WANT_SNAPSHOT, "reply_to": self.channel}
                        ),
                        p.ACTION_TIMEOUT_S,
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._redis_failed(exc)
            self._show_status()
            await asyncio.sleep(TICK_S)

    def _show_status(self) -> None:
        """Push `#connection-status` to this worker's pages when its state changes."""
        reason = self.reason()
        shown = "degraded" if reason else "ok"
        if shown != self._shown_reason:
            if reason:
                log.warning("relay: degraded: %s", reason)
            elif self._shown_reason is not None:
                log.info("relay: live again")
            self._shown_reason = shown
            runtime.publish_panel(STATUS_PANEL)

    # -- actions and pages, answered by the watcher -----------------------------------------
    async def forward(self, action: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Ask the watcher to carry out `action`; (status, body) or NoWatcher."""
        message = {"type": p.ACTION, "action": action, "args": args}
        answer = await self._ask(message, p.ACTION_TIMEOUT_S)
        return int(answer["status"]), dict(answer.get("body") or {})

    async def fetch_page(self, request: dict[str, Any]) -> dict[str, Any]:
        """A page the watcher renders (`pages.page_request`): its PAGE_ANSWER, or NoWatcher."""
        silent = time.monotonic() - self.heard_at
        if self.heard_at and silent > p.WATCHER_SILENT_S:  # no use waiting for an answer
            raise NoWatcher(f"no word from the watcher for {silent:.0f} s")
        return await self._ask({"type": p.PAGE, **request}, p.PAGE_TIMEOUT_S)

    async def _ask(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self._layer is None or not self.channel:
            raise NoWatcher("this web worker is not connected to Redis yet")
        request_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[request_id] = future
        message = {**message, "id": request_id, "reply_to": self.channel}
        deadline = time.monotonic() + timeout
        try:
            try:
                await asyncio.wait_for(self._layer.group_send(p.WATCHER_GROUP, message), timeout)
            except asyncio.TimeoutError:
                raise NoWatcher(f"Redis at {self.redis_url} did not answer in time") from None
            except Exception as exc:
                raise NoWatcher(f"Redis at {self.redis_url} is unreachable: {exc}") from None
            try:
                return await asyncio.wait_for(future, max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise NoWatcher(
                    f"the watcher did not answer within {timeout:.0f} s: "
                    "it may be stopped or restarting; try again in a moment"
                ) from None
        finally:
            self._answers.pop(request_id, None)


# -- the process's one web relay ----------------------------------------------------------
relay: WebRelay | None = None


def prepare(redis_url: str) -> WebRelay:
    """Before serving: the relay, the mirrors, and panels that show what the watcher sent."""
    global relay
    from . import mirrors

    relay = WebRelay(runtime.STATE, redis_url)
    mirrors.install(relay)
    for name in runtime.panel_names():
        fallback = runtime.panel_renderer(name)  # renders from the (empty) mirrors meanwhile
        runtime.register_panel(name, _mirrored(relay, name, fallback))
    runtime.register_panel(STATUS_PANEL, relay.status_html, on_page=False)
    return relay


def _mirrored(web: WebRelay, name: str, fallback: Any) -> Any:
    return lambda: web.panel_html(name, fallback)
