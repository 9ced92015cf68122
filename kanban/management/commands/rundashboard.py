"""`python manage.py rundashboard`: daphne serving the board, plus the watchers feeding it."""

from __future__ import annotations

import ipaddress
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

log = logging.getLogger("kanban.rundashboard")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
        parser.add_argument("--token", default=None, help="shared secret ($DASHBOARD_TOKEN)")
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
        token = options["token"] if options["token"] is not None else settings.DASHBOARD_TOKEN
        if not is_loopback(host) and not token:
            raise CommandError(
                f"refusing to serve on {host} without a token: anyone on the network could read "
                "your tasks. Pass --token SECRET or set DASHBOARD_TOKEN."
            )
        settings.DASHBOARD_TOKEN = token or ""
        if not is_loopback(host):
            wildcard = host in ("0.0.0.0", "::", "[::]")
            settings.ALLOWED_HOSTS = (
                ["*"] if wildcard else [*settings.ALLOWED_HOSTS, host.strip("[]")]
            )

        demo_dir: Path | None = None
        try:
            if options["demo"]:
                from kanban import demo

                demo_dir = Path(tempfile.mkdtemp(prefix="dashboard-demo-"))
                collab, telemetry_db = demo.create_workspace(demo_dir)
            else:
                collab = Path(options["collab_dir"] or settings.DASHBOARD_COLLAB_DIR)
                telemetry_db = Path(options["telemetry_db"] or settings.DASHBOARD_TELEMETRY_DB)
            collab = check_collab_dir(collab)
            telemetry_db = check_telemetry_db(telemetry_db)
            settings.DASHBOARD_COLLAB_DIR = collab
            settings.DASHBOARD_TELEMETRY_DB = telemetry_db
            self.serve(host, port, collab, telemetry_db, options["demo"], options["polling"])
        finally:
            if demo_dir is not None:
                shutil.rmtree(demo_dir, ignore_errors=True)

    def serve(
        self, host: str, port: int, collab: Path, telemetry_db: Path, demo: bool, polling: bool
    ) -> None:
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        from dashboard_project.asgi import application
        from kanban import runtime
        from kanban.events import TELEMETRY_UPDATED
        from kanban.watcher import BoardWatcher
        from telemetry import db as telemetry_db_alias
        from telemetry import service as telemetry

        watcher = BoardWatcher(
            collab, runtime.publish_board, runtime.set_watcher_mode, force_polling=polling
        )
        simulator = None
        ready_line = f"http://{_url_host(host)}:{port}/"
        if settings.DASHBOARD_TOKEN and demo:
            ready_line += f"?token={settings.DASHBOARD_TOKEN}"
        failure: list[str] = []

        class DashboardServer(Server):  # type: ignore[misc]
            def listen_success(self, listening_port: Any) -> None:
                super().listen_success(listening_port)
                print(f"Dashboard ready at {ready_line}", flush=True)

            def listen_error(self, reason: Any) -> None:
                failure.append(reason.getErrorMessage())
                self.stop()

        try:
            telemetry_db_alias.configure(telemetry_db, settings.DASHBOARD_TIME_ZONE)
            watcher.start()
            _warm_up()
            watcher.wait_ready(timeout=60)
            runtime.freeze_long_lived_objects()
            telemetry.start_watching(
                lambda: runtime.send_to_group(
                    {"type": "telemetry.update", "event": TELEMETRY_UPDATED},
                    runtime.TELEMETRY_GROUP,
                )
            )
            if demo:
                from kanban.demo import Simulator

                simulator = Simulator(collab, telemetry_db)
                simulator.start()
            server = DashboardServer(
                application=application,
                endpoints=build_endpoint_description_strings(host=host, port=port),
                signal_handlers=False,
                application_close_timeout=1,
                websocket_handshake_timeout=5,
            )
            _stop_on_signals(server)
            server.run()
        finally:
            if simulator is not None:
                simulator.stop()
            threading.Thread(target=telemetry.stop, daemon=True).start()
            watcher.stop()
            runtime.set_loop(None)
        if failure:
            raise CommandError(f"cannot listen on {host}:{port}: {failure[0]}")
        print("Dashboard stopped.", flush=True)


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


def check_telemetry_db(path: Path) -> Path:
    path = Path(os.path.abspath(path.expanduser()))
    if path.exists():
        if path.is_dir():
            raise CommandError(f"--telemetry-db {path} is a directory, not an SQLite file")
        if not os.access(path, os.R_OK):
            raise CommandError(f"--telemetry-db {path} cannot be read (permission denied)")
    return path
