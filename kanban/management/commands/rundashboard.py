"""`python manage.py rundashboard`: daphne serving the board, plus the watchers feeding it."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import daphne.server  # noqa: F401  - installs Twisted's asyncio reactor before anything else
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http.request import validate_host

from kanban import runconfig
from kanban.runconfig import ROLES, RunConfig, is_loopback

log = logging.getLogger("kanban.rundashboard")

# daphne's default is 1 MiB each way; a full board state can pass it (security review 6). The
# consumer bounds what it sends; this is the ceiling on purpose, for both directions.
WEBSOCKET_MAX_MESSAGE = 4 * 1024 * 1024
# How often daphne pings each WebSocket (its default is 20 s). A ping and its pong cost about
# 0.2 ms of the event loop: with 1,000 idle pages, pings every 20 s were 0.9 % of a core and
# every 60 s 0.35 %, most of what idle pages cost (bench/fanout.py --moves 0 --idle). Dead
# peers are found sooner by TCP keepalive (dashboard_project.connections.keep_alive, in the
# kernel); a proxy in front must let a WebSocket stay silent longer than this (docs/deploy.md).
WEBSOCKET_PING_S = 300


class Command(BaseCommand):
    help = "Serve the live dashboard (HTTP and WebSocket) and watch the task files."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to bind")
        parser.add_argument("--port", type=int, default=8080, help="port to bind")
        parser.add_argument(
            "--collab-dir",
            default=None,
            help="the watched task tree (default: $DASHBOARD_COLLAB_DIR or ./work/collaboration)",
        )
        parser.add_argument(
            "--telemetry-db",
            default=None,
            help="the SQLite telemetry file, read-only "
            "(default: $DASHBOARD_TELEMETRY_DB or ./telemetry.db)",
        )
        parser.add_argument(
            "--token",
            default=None,
            help="shared secret; visible to other local users in `ps`: prefer $DASHBOARD_TOKEN "
            "or --token-file",
        )
        parser.add_argument(
            "--token-file", default=None, help="read the shared secret from this file"
        )
        parser.add_argument(
            "--events-dir",
            default=None,
            help="JSON-lines operation events to tail, read-only "
            "(default: $DASHBOARD_EVENTS_DIR or ./work/events)",
        )
        parser.add_argument(
            "--mcp-config",
            action="append",
            default=None,
            metavar="PATH",
            help="MCP server definitions (.json or .yaml); may be given more than once "
            "(default: ./.mcp.json and ./config/mcp_servers.yaml when present)",
        )
        parser.add_argument(
            "--role",
            choices=ROLES,
            default="all",
            help="all: one process does everything; watcher / web: split over the Redis "
            "channel layer ($DASHBOARD_REDIS_URL)",
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="run on a throwaway demo workspace with simulated agents",
        )
        parser.add_argument(
            "--polling",
            action="store_true",
            help="watch by polling instead of inotify (slower; for network filesystems)",
        )
        parser.add_argument(
            "--proxy-headers",
            action="store_true",
            help="behind a reverse proxy that sets X-Forwarded-For and X-Forwarded-Proto: take "
            "the client's address and scheme (https) from them. Only when every request comes "
            "through that proxy",
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        # Bad input gets one clear line and a non-zero exit, never a traceback.
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            sys.stderr.write(f"rundashboard: {exc}\n")
            sys.exit(2)

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, not {port}")
        token = resolve_token(options["token"], options["token_file"])
        if not is_loopback(host) and not token:
            raise CommandError(
                f"refusing to serve on {host} without a token: anyone on the network could read "
                "your tasks. Set DASHBOARD_TOKEN or pass --token-file PATH."
            )
        check_host_is_allowed(host)
        role = options["role"]
        if role != "all" and not settings.REDIS_URL:
            raise CommandError(
                f"--role {role} needs the Redis channel layer: set DASHBOARD_REDIS_URL "
                "(e.g. redis://127.0.0.1:6379/0)"
            )

        demo_dir: Path | None = None
        try:
            if role == "web":
                # A web worker reads no workspace: its path options are accepted and ignored.
                collab, telemetry_db = Path(os.devnull), Path(os.devnull)
                options["events_dir"] = os.devnull
                options["mcp_config"] = None
            elif options["demo"]:
                from kanban import demo

                demo_dir = Path(tempfile.mkdtemp(prefix="dashboard-demo-"))
                collab, telemetry_db = demo.create_workspace(demo_dir)
                options["events_dir"] = str(demo_dir / "events")
                options["mcp_config"] = [str(demo.create_mcp_config(demo_dir))]
            else:
                collab = Path(options["collab_dir"] or settings.DASHBOARD_COLLAB_DIR)
                telemetry_db = Path(options["telemetry_db"] or settings.DASHBOARD_TELEMETRY_DB)
            reads_workspace = role != "web"
            config = RunConfig(
                host=host,
                port=port,
                token=token,
                collab_dir=check_collab_dir(collab) if reads_workspace else collab,
                telemetry_db=check_telemetry_db(telemetry_db) if reads_workspace else telemetry_db,
                events_dir=check_events_dir(
                    Path(options["events_dir"] or settings.DASHBOARD_EVENTS_DIR)
                )
                if reads_workspace
                else Path(os.devnull),
                mcp_configs=resolve_mcp_configs(options["mcp_config"]) if reads_workspace else (),
                role=role,
                demo=options["demo"] and reads_workspace,
                polling=options["polling"],
                proxy_headers=options["proxy_headers"],
            )
            runconfig.configure(config)
            self.serve(config)
        finally:
            if demo_dir is not None:
                shutil.rmtree(demo_dir, ignore_errors=True)

    def serve(self, config: RunConfig) -> None:
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from django.utils.module_loading import import_string

        from dashboard_project import connections
        from dashboard_project.http_backpressure import HttpBackpressure
        from dashboard_project.staticfiles import collect_if_stale
        from kanban import runtime

        host, port = config.host, config.port
        open_files = connections.raise_open_files_limit()
        ready_line = f"http://{_url_host(host)}:{port}/"
        if config.token and config.demo:
            ready_line += f"?token={config.token}"
        failure: list[str] = []
        relay = _prepare_role(config)

        class DashboardServer(connections.SparseCheckers, HttpBackpressure, Server):  # type: ignore[misc]
            # daphne's `run()` makes its HTTP factory, then listens on `self.http_factory`:
            # the setter is where the connection limits go in, before anything is accepted.
            @property
            def http_factory(self) -> Any:
                return self._limited_http_factory

            @http_factory.setter
            def http_factory(self, factory: Any) -> None:
                self._limited_http_factory = connections.limit(
                    factory, connections.connection_cap(open_files)
                )

            def listen_success(self, listening_port: Any) -> None:
                super().listen_success(listening_port)
                if config.role != "all":
                    print(f"Role: {config.role} (Redis channel layer)", flush=True)
                # The URL ends the line: scripts take its last word (with ?token= in demos).
                print(f"Dashboard ready at {ready_line}", flush=True)

            def listen_error(self, reason: Any) -> None:
                failure.append(reason.getErrorMessage())
                self.stop()

        def on_loop_ready() -> None:
            # daphne has made its asyncio loop current just before calling this.
            loop = asyncio.get_event_loop()
            runtime.set_loop(loop)
            if relay is not None:
                relay.start(loop)

        workspace = Workspace(config)
        try:
            collect_if_stale()
            application = import_string(settings.ASGI_APPLICATION)
            if config.role == "watcher":
                from kanban.roles.watcher import http_only

                application = http_only(application)
            if config.role != "web":
                workspace.start()
            _warm_up()
            server = DashboardServer(
                application=application,
                endpoints=build_endpoint_description_strings(host=host, port=port),
                signal_handlers=False,
                application_close_timeout=1,
                ping_interval=WEBSOCKET_PING_S,
                websocket_handshake_timeout=5,
                websocket_max_message_size=WEBSOCKET_MAX_MESSAGE,
                websocket_max_frame_size=WEBSOCKET_MAX_MESSAGE,
                ready_callable=on_loop_ready,
                **(_PROXY_HEADERS if config.proxy_headers else {}),
            )
            _stop_on_signals(server)
            server.run()
        finally:
            if relay is not None:
                relay.stop()
            workspace.stop()
            runtime.set_loop(None)
        if failure:
            raise CommandError(f"cannot listen on {host}:{port}: {failure[0]}")
        print("Dashboard stopped.", flush=True)


# A TLS-terminating proxy makes the browser's origin https://...: with these, daphne gives the
# application that scheme (and the client's address), so the exact Origin checks still match.
_PROXY_HEADERS = {
    "proxy_forwarded_address_header": "X-Forwarded-For",
    "proxy_forwarded_port_header": "X-Forwarded-Port",
    "proxy_forwarded_proto_header": "X-Forwarded-Proto",
}


def _prepare_role(config: RunConfig) -> Any:
    """The relay of a `watcher` or `web` process (None for `all`), and its URLs."""
    if config.role == "watcher":
        from kanban.roles import watcher

        settings.ROOT_URLCONF = "kanban.roles.watcher_urls"
        return watcher.prepare()
    if config.role == "web":
        from kanban.roles import web

        settings.ROOT_URLCONF = "kanban.roles.web_urls"
        return web.prepare(settings.REDIS_URL)
    return None


class Workspace:
    """What reads the workspace (`all` and `watcher`): the task files, telemetry, operation
    events, MCP servers, and the demo's simulated agents."""

    def __init__(self, config: RunConfig) -> None:
        from kanban import runtime
        from kanban.watcher import BoardWatcher

        self.config = config
        self.watcher = BoardWatcher(
            config.collab_dir,
            runtime.publish_board,
            runtime.set_watcher_mode,
            force_polling=config.polling,
        )
        self.started = False
        self.simulator: Any = None
        self.operations_demo: Any = None

    def start(self) -> None:
        from kanban import composition, runtime
        from kanban.html import COSTS_PANEL
        from telemetry import db as telemetry_db
        from telemetry import service as telemetry

        config = self.config
        self.started = True
        telemetry_db.configure(config.telemetry_db, settings.DASHBOARD_TIME_ZONE)
        self.watcher.start()
        _warm_up()
        self.watcher.wait_ready(timeout=60)
        runtime.freeze_long_lived_objects()
        telemetry.start_watching(lambda: runtime.publish_panel(COSTS_PANEL))
        composition.start_operations(config.events_dir)
        composition.start_mcp(config.mcp_configs)
        composition.start_agents()
        if config.demo:
            from kanban.demo import Simulator
            from telemetry.operations.demo_worker import start_demo

            self.simulator = Simulator(config.collab_dir, config.telemetry_db)
            self.simulator.start()
            self.operations_demo = start_demo(
                config.events_dir, None, task_ids=_working_task_ids(runtime.STATE.board)
            )

    def stop(self) -> None:
        if not self.started:
            return
        from kanban import composition
        from telemetry import service as telemetry

        if self.operations_demo is not None:
            self.operations_demo.stop()
        if self.simulator is not None:
            self.simulator.stop()
        composition.stop_all()
        threading.Thread(target=telemetry.stop, daemon=True).start()
        self.watcher.stop()


def _working_task_ids(board: Any) -> list[str]:
    """Tasks in Assigned, for the demo's simulated operations to work on."""
    return sorted({t.id for t in board.tasks.values() if t.lane == "assigned"})


def _warm_up() -> None:
    """Import the URLconf and compile the templates now, not on the first request."""
    from django.template.loader import get_template
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - importing them is the point
    for name in ("kanban/board.html", "kanban/detail.html", "telemetry/fragments.html"):
        try:
            get_template(name)
        except Exception:
            log.debug("could not pre-compile %s", name, exc_info=True)


def _stop_on_signals(server: Any) -> None:
    """SIGINT and SIGTERM stop the reactor; a second one stops the process at once."""
    from twisted.internet import reactor

    stopping: list[int] = []

    def handle(signum: int, frame: Any) -> None:
        if stopping:
            os._exit(1)
        stopping.append(signum)
        reactor.callFromThread(server.stop)

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def resolve_token(from_option: str | None, token_file: str | None) -> str:
    if from_option is not None and token_file is not None:
        raise CommandError("give --token or --token-file, not both")
    if token_file is not None:
        try:
            token = Path(token_file).expanduser().read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"--token-file {token_file} cannot be read: {exc}") from None
        if not token:
            raise CommandError(f"--token-file {token_file} is empty")
        return token
    if from_option is not None:
        sys.stderr.write(
            "rundashboard: warning: --token is visible to every local user in `ps`; "
            "set DASHBOARD_TOKEN or use --token-file PATH instead\n"
        )
        return from_option
    return str(settings.DASHBOARD_TOKEN)


def check_host_is_allowed(host: str) -> None:
    bare = host.strip("[]")
    if bare in ("0.0.0.0", "::", ""):
        return
    name = f"[{bare}]" if ":" in bare else bare
    if not validate_host(name.lower(), settings.ALLOWED_HOSTS):
        raise CommandError(
            f"--host {host} is not a name this machine is known by; browsers would be refused. "
            f"Add it to DASHBOARD_ALLOWED_HOSTS (comma-separated)."
        )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def check_collab_dir(path: Path) -> Path:
    path = Path(os.path.abspath(path.expanduser()))
    if path.exists():
        if not path.is_dir():
            raise CommandError(f"--collab-dir {path} is not a directory")
        if not os.access(path, os.R_OK | os.X_OK):
            raise CommandError(f"--collab-dir {path} cannot be read (permission denied)")
    return path


def check_events_dir(path: Path) -> Path:
    path = Path(os.path.abspath(path.expanduser()))
    if path.exists() and not path.is_dir():
        raise CommandError(f"--events-dir {path} is not a directory")
    return path


DEFAULT_MCP_CONFIGS = (".mcp.json", "config/mcp_servers.yaml")


def resolve_mcp_configs(given: list[str] | None) -> tuple[Path, ...]:
    """Paths given on the command line replace the defaults, which count only when present."""
    if not given:
        found = (Path.cwd() / name for name in DEFAULT_MCP_CONFIGS)
        return tuple(p for p in found if p.is_file())
    paths = []
    for name in given:
        path = Path(os.path.abspath(Path(name).expanduser()))
        if not path.is_file() or not os.access(path, os.R_OK):
            raise CommandError(f"--mcp-config {path} is not a readable file")
        if path.suffix.lower() not in (".json", ".yaml", ".yml"):
            raise CommandError(f"--mcp-config {path}: the name must end in .json, .yaml or .yml")
        paths.append(path)
    return tuple(paths)


def check_telemetry_db(path: Path) -> Path:
    path = Path(os.path.abspath(path.expanduser()))
    if path.exists():
        if path.is_dir():
            raise CommandError(f"--telemetry-db {path} is a directory, not an SQLite file")
        if not os.access(path, os.R_OK):
            raise CommandError(f"--telemetry-db {path} cannot be read (permission denied)")
    return path
