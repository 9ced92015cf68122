"""The MCP supervisor as the rest of the dashboard sees it: start, stop, act, read, render.

It runs in its own thread with its own event loop (never daphne's), one task per server
(see `supervisor`), plus a task that reloads the config files when they change (a 1 s stat
poll: editors replace files in ways inotify reports differently) and one that publishes an
immutable snapshot and calls `on_change` at most five times a second. Readers (views, the
panel) only read the last snapshot; actions are handed to the loop through an anyio portal.
No Django import here: `panel_html()` imports the rendering edge lazily.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
import anyio.from_thread
import anyio.to_thread

from telemetry.masking import mask_secrets

from . import config
from .config import Definitions, Problem, ServerDefinition, Settings
from .status import FeedItem, RestartRecord, ServerState, ServerView, now_utc

if TYPE_CHECKING:  # the SDK takes ~1 s to import: only the supervisor thread needs it
    from .supervisor import Mode, ServerRunner

log = logging.getLogger("mcp_servers")

Action = Literal["start", "stop", "restart", "check"]
ACTIONS: tuple[Action, ...] = ("start", "stop", "restart", "check")
CONFIG_POLL_S = 1.0
PUBLISH_EVERY_S = 0.2


@dataclass(frozen=True)
class Snapshot:
    servers: tuple[ServerView, ...] = ()
    problems: tuple[Problem, ...] = ()
    settings: Settings = Settings()
    running: bool = False

    def server(self, name: str) -> ServerView | None:
        for view in self.servers:
            if view.name == name:
                return view
        return None


class NotApplicable(Exception):
    """The action makes no sense for this server (starting an URL)."""


class MCPService:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._ready = threading.Event()
        self._snapshot = Snapshot()
        self._paths: list[Path] = []
        self._on_change: Callable[[], None] = lambda: None
        self._on_feed: Callable[[FeedItem], None] = lambda item: None
        # loop-owned
        self._defs = Definitions()
        self._states: dict[str, ServerState] = {}
        self._runners: dict[str, ServerRunner] = {}
        self._locks: dict[str, anyio.Lock] = {}  # one action at a time per server
        self._dirty: anyio.Event | None = None
        self._stopping: anyio.Event | None = None
        self._task_group: anyio.abc.TaskGroup | None = None

    # -- the seam ----------------------------------------------------------------------------
    def start(
        self,
        config_paths: Sequence[Path],
        on_change: Callable[[], None] | None = None,
        on_feed: Callable[[FeedItem], None] | None = None,
    ) -> None:
        """Read the definitions, start auto_start servers, probe the others; returns at once."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the MCP service is already running")
            self._paths = [Path(p) for p in config_paths]
            self._defs, self._states, self._runners, self._locks = Definitions(), {}, {}, {}
            self._on_change = on_change or (lambda: None)
            self._on_feed = on_feed or (lambda item: None)
            self._ready.clear()
            self._thread = threading.Thread(target=self._thread_main, name="mcp-supervisor")
            self._thread.daemon = True  # stop() is the clean way; this only spares a hang
            self._thread.start()
        if not self._ready.wait(10):
            log.error("MCP supervisor did not start within 10 s")

    def stop(self) -> None:
        """Stop managed servers (within shutdown_timeout_seconds) and the supervisor thread."""
        with self._lock:
            thread, portal = self._thread, self._portal
            if thread is None:
                return
            timeout = self._snapshot.settings.shutdown_timeout_seconds
            if portal is not None:
                with contextlib.suppress(RuntimeError):  # the loop already ended
                    portal.call(self._begin_shutdown)
            thread.join(timeout + 3)
            if thread.is_alive():
                log.error("MCP supervisor thread did not end in time")
            self._thread = None
            self._portal = None
            self._snapshot = Snapshot(
                problems=self._snapshot.problems, settings=self._snapshot.settings
            )

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def names(self) -> frozenset[str]:
        return frozenset(v.name for v in self._snapshot.servers)

    def request(self, name: str, action: Action) -> bool:
        """Hand an action to the supervisor; False when `name` is not a defined server.

        Raises NotApplicable for start/stop/restart of an HTTP server.
        """
        if action not in ACTIONS:
            raise ValueError(action)
        portal = self._portal
        if portal is None:
            return False
        try:
            return portal.call(self._act, name, action)
        except RuntimeError:  # stopped in between
            return False

    def panel_html(self) -> str:
        from .html import panel_html  # the Django edge, imported when rendering is asked for

        return panel_html(self._snapshot)

    # -- the supervisor thread ------------------------------------------------------------
    def _thread_main(self) -> None:
        try:
            anyio.run(self._main)
        except Exception:
            log.exception("MCP supervisor stopped with an error")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._dirty = anyio.Event()
        self._stopping = anyio.Event()
        async with anyio.from_thread.BlockingPortal() as portal, anyio.create_task_group() as tg:
            self._task_group = tg
            self._portal = portal
            await self._reload()
            self._publish()  # readers see every defined server as soon as start() returns
            tg.start_soon(self._publisher)
            tg.start_soon(self._watch_config)
            self._ready.set()
            await self._stopping.wait()
            await self._shutdown_servers()
            tg.cancel_scope.cancel()

    def _begin_shutdown(self) -> None:
        assert self._stopping is not None
        self._stopping.set()

    async def _shutdown_servers(self) -> None:
        from . import processes

        timeout = self._defs.settings.shutdown_timeout_seconds
        runners = list(self._runners.values())
        managed = [r for r in runners if r.mode == "managed"]
        async with anyio.create_task_group() as tg:
            for runner in runners:
                tg.start_soon(runner.cancel)
            with anyio.move_on_after(timeout):
                while not all(r.done.is_set() for r in managed):
                    await anyio.sleep(0.05)
            # Whatever is still alive (a server ignoring stdin's close and SIGTERM, a probe
            # mid-spawn) is killed now, so the transports' shielded shutdowns end at once.
            survivors = await anyio.to_thread.run_sync(processes.spawned_by_us)
            for proc in survivors:
                log.warning("MCP: killing pid %s, still running at shutdown", proc.pid)
                processes.kill_tree(proc)
        for runner in managed:
            state = runner.state
            state.status, state.pid, state.managed = "stopped", None, False
            self._on_feed_safe(
                FeedItem("mcp.server.stopped", state.name, "stopped with the dashboard")
            )

    # -- config ----------------------------------------------------------------------------
    async def _watch_config(self) -> None:
        signature = config.signature(self._paths)
        while True:
            await anyio.sleep(CONFIG_POLL_S)
            now = await anyio.to_thread.run_sync(config.signature, self._paths)
            if now != signature:
                signature = now
                log.info("MCP: config changed, reloading")
                await self._reload()

    async def _reload(self) -> None:
        defs = await anyio.to_thread.run_sync(config.load, self._paths)
        for problem in defs.problems:
            log.warning("MCP config: %s", problem)
        old = self._defs
        self._defs = defs
        tg = self._task_group
        assert tg is not None
        for name in list(self._runners):
            if name not in defs.servers:
                # Forget it now, so a quick re-add starts afresh; stop it in the background.
                self._states.pop(name, None)
                tg.start_soon(self._retire, self._runners.pop(name))
        for name, defn in defs.servers.items():
            before = old.servers.get(name)
            if before is None:
                self._states[name] = ServerState(
                    name=name,
                    transport=defn.transport,
                    target=mask_secrets(defn.display_target),
                )
                await self._launch(defn, "managed" if defn.auto_start else "probe")
            elif before != defn:
                runner = self._runners.get(name)
                was_managed = runner is not None and runner.mode == "managed"
                keep = defn.auto_start or (was_managed and not before.auto_start)
                tg.start_soon(self._replace, defn, "managed" if keep else "probe")
        self._mark_dirty()

    def _server_lock(self, name: str) -> anyio.Lock:
        return self._locks.setdefault(name, anyio.Lock())

    async def _retire(self, runner: ServerRunner) -> None:
        """End a server removed from the config (its state is already gone)."""
        await runner.cancel()
        if runner.mode == "managed":
            item = FeedItem(
                "mcp.server.stopped", runner.defn.name, "stopped: removed from the config"
            )
            self._on_feed_safe(item)

    async def _replace(self, defn: ServerDefinition, mode: Mode) -> None:
        async with self._server_lock(defn.name):
            await self._replace_locked(defn, mode)

    async def _replace_locked(self, defn: ServerDefinition, mode: Mode) -> None:
        runner = self._runners.get(defn.name)
        if runner is not None:
            await runner.cancel()
        state = self._states.get(defn.name)
        if state is None or self._defs.servers.get(defn.name) is not defn:
            return  # removed or changed again meanwhile: the later reload decides
        state.transport, state.target = defn.transport, mask_secrets(defn.display_target)
        await self._launch(defn, mode)

    async def _launch(self, defn: ServerDefinition, mode: Mode) -> None:
        from .supervisor import Hooks, ServerRunner

        state = self._states[defn.name]
        state.managed = mode == "managed"
        if mode != "managed":
            state.pid = state.rss_mb = state.cpu_pct = state.started_at = None
        runner = ServerRunner(
            defn,
            lambda: self._defs.settings,
            state,
            Hooks(changed=self._mark_dirty, feed=self._on_feed_safe),
            mode,
        )
        self._runners[defn.name] = runner
        assert self._task_group is not None
        self._task_group.start_soon(runner.run)
        self._mark_dirty()

    # -- actions -------------------------------------------------------------------------
    def _act(self, name: str, action: Action) -> bool:
        defn = self._defs.servers.get(name)
        if defn is None:
            return False
        runner = self._runners.get(name)
        if action == "check":
            if runner is not None:
                runner.check_now()
            return True
        if not defn.is_stdio:
            raise NotApplicable(f"{name} is reached at its URL; the dashboard does not run it")
        assert self._task_group is not None
        self._task_group.start_soon(self._do, name, action)
        return True

    async def _do(self, name: str, action: Action) -> None:
        async with self._server_lock(name):
            await self._do_locked(name, action)

    async def _do_locked(self, name: str, action: Action) -> None:
        defn = self._defs.servers.get(name)
        runner = self._runners.get(name)
        state = self._states.get(name)
        if defn is None or state is None:
            return
        managed = runner is not None and runner.mode == "managed"
        if action == "start" and managed:
            return
        if action == "stop" and not managed:
            return
        if runner is not None:
            await runner.cancel()
        if self._defs.servers.get(name) is not defn:  # the config changed meanwhile
            return
        if action == "stop":
            state.status, state.managed, state.error = "stopped", False, None
            state.pid = state.rss_mb = state.cpu_pct = state.started_at = None
            self._on_feed_safe(FeedItem("mcp.server.stopped", name, "stopped from the dashboard"))
            await self._launch(defn, "idle")
            return
        if action == "restart" and managed:
            state.restarts += 1
            state.restart_history.append(RestartRecord(now_utc(), "restart requested", 0.0))
        await self._launch(defn, "managed")

    # -- publishing ----------------------------------------------------------------------
    def _mark_dirty(self) -> None:
        if self._dirty is not None:
            self._dirty.set()

    def _on_feed_safe(self, item: FeedItem) -> None:
        try:
            self._on_feed(item)
        except Exception:
            log.exception("MCP: on_feed failed")

    async def _publisher(self) -> None:
        while True:
            assert self._dirty is not None
            await self._dirty.wait()
            self._dirty = anyio.Event()
            self._publish()
            try:
                self._on_change()
            except Exception:
                log.exception("MCP: on_change failed")
            await anyio.sleep(PUBLISH_EVERY_S)

    def _publish(self) -> None:
        views = tuple(self._states[name].view() for name in sorted(self._states))
        self._snapshot = Snapshot(
            servers=views,
            problems=tuple(self._defs.problems),
            settings=self._defs.settings,
            running=True,
        )


def wait_for(
    svc: MCPService, predicate: Callable[[Snapshot], bool], timeout: float = 20.0
) -> Snapshot:
    """Poll until the snapshot satisfies `predicate` (tests and the bench)."""
    deadline = time.monotonic() + timeout
    while True:
        snap = svc.snapshot()
        if predicate(snap):
            return snap
        if time.monotonic() > deadline:
            raise TimeoutError(f"MCP state not reached in {timeout} s: {snap.servers}")
        time.sleep(0.05)


# -- the process-wide service --------------------------------------------------------------
SERVICE = MCPService()


def start(
    config_paths: Sequence[Path],
    on_change: Callable[[], None] | None = None,
    on_feed: Callable[[FeedItem], None] | None = None,
) -> None:
    SERVICE.start(config_paths, on_change, on_feed)


def stop() -> None:
    SERVICE.stop()


def panel_html() -> str:
    return SERVICE.panel_html()


def snapshot() -> Snapshot:
    return SERVICE.snapshot()


def default_config_paths(cwd: Path | None = None) -> list[Path]:
    """`.mcp.json` and `config/mcp_servers.yaml` under `cwd`: read when present, watched always."""
    base = cwd or Path.cwd()
    return [base / p for p in config.DEFAULT_FILES]
