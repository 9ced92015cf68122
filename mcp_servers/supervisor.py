"""One task per MCP server on the supervisor's event loop: keep it, probe it, or reach it.

How a managed stdio server is both run and checked
--------------------------------------------------
The SDK's `stdio_client` spawns the server process itself and owns its pipes, so the
dashboard does not spawn it separately: one task per managed server enters
`stdio_client` (which starts the process) and keeps ONE long-lived `ClientSession` over it
for the life of that process. Health checks (ping, list tools, or a tool call) go over that
session every interval. The process is found with psutil through a random marker put in
its environment, which gives the pid (and create time) for CPU, memory and, at shutdown,
a confirmed kill. While the session lives, a watcher polls the process twice a second, so a
crash is seen at once (not at the next check); the task then leaves `stdio_client` (whose
shielded shutdown closes stdin, then terminates the process group) and restarts it after a
backoff. Stopping a server is cancelling its task: the same shutdown path runs.

Unmanaged stdio servers are probed (spawned, initialized, checked, tools listed, closed)
and HTTP/SSE servers are reached at their URL, once per interval, each step under its own
timeout. Every server has its own task, so a hanging one delays nobody else.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import anyio
import psutil
from mcp import ClientSession

from . import processes
from .backoff import Backoff
from .client import (
    Listener,
    ProbeResult,
    Step,
    describe_error,
    garbage_note,
    health_check,
    list_tools,
    open_session,
    probe,
)
from .config import ServerDefinition, Settings
from .status import (
    CheckRecord,
    FeedItem,
    RestartRecord,
    ServerState,
    Status,
    ToolInfo,
    now_utc,
    tools_change_text,
)
from .stderr_capture import StderrCapture

log = logging.getLogger("mcp_servers")

Mode = Literal["managed", "probe", "idle"]
UNHEALTHY_AFTER = 2  # failed checks in a row before a live server shows unhealthy
RESTART_AFTER = 3  # failed checks in a row before a live but stuck server is restarted
WATCH_INTERVAL_S = 0.5
SAMPLE_INTERVAL_S = 5.0
LEAK_FACTOR = 2.0
LEAK_MIN_MB = 100.0


@dataclass
class Hooks:
    changed: Callable[[], None]
    feed: Callable[[FeedItem], None]


class ServerRunner:
    def __init__(
        self,
        defn: ServerDefinition,
        settings: Callable[[], Settings],
        state: ServerState,
        hooks: Hooks,
        mode: Mode,
    ) -> None:
        self.defn = defn
        self._settings = settings
        self.state = state
        self.hooks = hooks
        self.mode: Mode = mode
        self._wake = anyio.Event()
        self._scope = anyio.CancelScope()
        self.done = anyio.Event()
        self.process: psutil.Process | None = None
        self.backoff = Backoff()
        self._leak_note: str | None = None

    # -- control, from the supervisor's loop -----------------------------------------------
    def check_now(self) -> None:
        self._wake.set()

    async def cancel(self) -> None:
        self._scope.cancel()
        await self.done.wait()

    async def run(self) -> None:
        try:
            with self._scope:
                if not self.defn.is_stdio:
                    await self._reach_loop()
                elif self.mode == "managed":
                    await self._managed_loop()
                elif self.mode == "probe":
                    await self._probe_loop(first_wait=False)
                else:
                    await self._probe_loop(first_wait=True)
        except Exception:  # one server's bug must not take the supervisor down
            log.exception("MCP %s: supervisor task failed", self.defn.name)
            self._set(status="broken" if self.defn.is_stdio else "unreachable")
            self.state.error = "internal error in the dashboard's supervisor (see the log)"
        finally:
            self.process = None
            self.done.set()

    # -- helpers -------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._settings()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, or less if someone asked for a check."""
        with anyio.move_on_after(seconds):
            await self._wake.wait()
        self._wake = anyio.Event()

    def _set(self, **changes: object) -> None:
        for key, value in changes.items():
            setattr(self.state, key, value)
        self.hooks.changed()

    def _feed(self, event: str, text: str) -> None:
        self.hooks.feed(FeedItem(event=event, server=self.defn.name, text=text))  # type: ignore[arg-type]

    def _record_check(self, ok: bool, latency_ms: float | None, detail: str) -> None:
        at = now_utc()
        self.state.checks.append(CheckRecord(at=at, ok=ok, latency_ms=latency_ms, detail=detail))
        self.state.last_check = at
        if ok:
            self.state.latency_ms = latency_ms

    def _tools_seen(self, tools: tuple[ToolInfo, ...]) -> None:
        old = self.state.tools
        first = not self.state.tools_known
        if first or old != tools:
            self.state.tools = tools
            self.state.tools_known = True
            self._feed("mcp.tools.discovered", tools_change_text(old, tools, first))

    # -- unmanaged stdio: probe --------------------------------------------------------------
    async def _probe_loop(self, first_wait: bool) -> None:
        if first_wait:  # stopped by hand: probe only when asked
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                await self._probe_once()
        while True:
            await self._probe_once()
            await self._sleep(self.settings.health_check_interval_seconds)

    async def _probe_once(self) -> None:
        if self.state.last_check is None:
            self._set(status="starting")  # the first probe: nothing known yet
        result = await probe(self.defn, self.settings.startup_timeout_seconds)
        self._apply_probe(result, ok_status="available", bad_status="broken")

    def _apply_probe(self, result: ProbeResult, ok_status: Status, bad_status: Status) -> None:
        self.state.stderr.extend(result.stderr)
        self._record_check(result.ok, result.latency_ms, "ok" if result.ok else result.error or "")
        if result.tools is not None:
            self._tools_seen(result.tools)
        if result.ok:
            self._set(status=ok_status, error=None)
        else:
            self._set(status=bad_status, error=result.error)

    # -- http / sse: reach the URL -----------------------------------------------------------
    async def _reach_loop(self) -> None:
        self._set(status="starting")
        while True:
            result = await probe(self.defn, self.settings.startup_timeout_seconds)
            self._apply_probe(result, ok_status="running", bad_status="unreachable")
            await self._sleep(self.settings.health_check_interval_seconds)

    # -- managed stdio: run, check, restart ---------------------------------------------------
    async def _managed_loop(self) -> None:
        self.state.managed = True
        while True:
            started = time.monotonic()
            reason = await self._run_once()
            ran_for = time.monotonic() - started
            delay = self.backoff.next_delay(ran_for)
            self.state.restart_history.append(
                RestartRecord(at=now_utc(), reason=reason, delay_s=delay)
            )
            self.state.next_restart_at = time.monotonic() + delay
            self._set(
                status="unhealthy",
                error=reason,
                pid=None,
                rss_mb=None,
                cpu_pct=None,
                started_at=None,
            )
            self._feed("mcp.server.unhealthy", f"{reason}; restarting in {delay:g} s")
            await self._sleep(delay)
            self.state.next_restart_at = None
            self.state.restarts += 1

    async def _run_once(self) -> str:
        """Start the server and keep it until it dies or stops answering; why it ended."""
        defn = self.defn
        settings = self.settings
        self._set(status="starting", error=None)
        self._leak_note = None
        capture = StderrCapture(self.state.stderr.append)
        listener = Listener(on_tools_changed=self.check_now)
        step = Step()
        marker = uuid.uuid4().hex
        try:
            await capture.start()
            async with open_session(
                defn, listener, errlog=capture.writer, marker=marker, on_spawned=capture.spawned
            ) as session:
                step.name = "initialize"
                with anyio.fail_after(settings.startup_timeout_seconds):
                    await session.initialize()
                    step.name = "list tools"
                    tools = await list_tools(session)
                self.process = processes.find_spawned(marker)
                self.state.pid = self.process.pid if self.process else None
                self.state.started_at = time.time()
                self._record_check(True, None, "started")
                self._tools_seen(tools)
                self._set(status="running", error=self._warning(listener))
                self._feed(
                    "mcp.server.started",
                    f"started (pid {self.state.pid})" if self.state.pid else "started",
                )
                ended: list[str] = []
                async with anyio.create_task_group() as tg:

                    async def until(fn: Callable[[], object]) -> None:
                        ended.append(await fn())  # type: ignore[misc]
                        tg.cancel_scope.cancel()

                    tg.start_soon(until, self._watch_process)
                    tg.start_soon(until, lambda: self._check_loop(session, listener))
                return ended[0] if ended else "stopped"
        except Exception as exc:
            await capture.drain()
            return describe_error(
                exc, defn, step, listener, list(self.state.stderr), settings.startup_timeout_seconds
            )
        finally:
            self.process = None
            capture.close()

    def _warning(self, listener: Listener) -> str | None:
        """What a running server should still show: a leak, or garbage on stdout."""
        if self._leak_note:
            return self._leak_note
        if listener.garbage_lines:
            return garbage_note(listener)
        return None

    async def _watch_process(self) -> str:
        proc = self.process
        if proc is None:  # not found (it exited at once, or a platform without environ)
            return "the server process could not be found after it started"
        sampler = processes.ResourceSampler(proc)
        baseline: float | None = None
        last_sample = 0.0
        while True:
            if not processes.is_alive(proc):
                await anyio.sleep(0.1)  # let its last stderr lines arrive
                tail = self.state.stderr[-1] if self.state.stderr else None
                return "the process exited" + (f" (stderr: {tail})" if tail else "")
            now = time.monotonic()
            if now - last_sample >= SAMPLE_INTERVAL_S:
                last_sample = now
                rss, cpu = sampler.sample()
                baseline = rss if baseline is None else baseline
                if rss >= baseline * LEAK_FACTOR and rss - baseline >= LEAK_MIN_MB:
                    self._leak_note = (
                        f"memory grew from {baseline:.0f} MB to {rss:.0f} MB since it started"
                    )
                    if self.state.status == "running":
                        self.state.error = self._leak_note
                self._set(rss_mb=rss, cpu_pct=cpu)
            await anyio.sleep(WATCH_INTERVAL_S)

    async def _check_loop(self, session: ClientSession, listener: Listener) -> str:
        failures = 0
        while True:
            await self._sleep(self.settings.health_check_interval_seconds)
            step = Step()
            try:
                latency = await health_check(session, self.defn, step)
                step.name = "list tools"
                with anyio.fail_after(self.defn.health_check.timeout_seconds):
                    tools = await list_tools(session)
            except Exception as exc:
                failures += 1
                reason = describe_error(exc, self.defn, step, listener, list(self.state.stderr))
                self._record_check(False, None, reason)
                if failures >= RESTART_AFTER:
                    return f"{failures} checks failed in a row, last: {reason}"
                if failures >= UNHEALTHY_AFTER and self.state.status != "unhealthy":
                    self._set(status="unhealthy", error=reason)
                    self._feed("mcp.server.unhealthy", reason)
                else:
                    self._set(error=reason)
                continue
            failures = 0
            self._record_check(True, latency, "ok")
            self._tools_seen(tools)
            self._set(status="running", error=self._warning(listener))
