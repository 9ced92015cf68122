"""Real child processes and a tiny HTTP front for the operations service, for tests."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import psutil

from telemetry.operations.events import EventError
from telemetry.operations.service import OperationsService

# Each child says "ready" once its signal handlers are in place.
SLEEPER = "import signal, sys, time\n{setup}\nprint('ready', flush=True)\ntime.sleep(60)\n"
IGNORE_INT = "signal.signal(signal.SIGINT, signal.SIG_IGN)"
IGNORE_TERM = "signal.signal(signal.SIGTERM, signal.SIG_IGN)"


def child(setup: str = "") -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLEEPER.format(setup=setup)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def register(svc: OperationsService, op_id: str, pid: int, started_at: float | None = None) -> None:
    if started_at is None:
        started_at = psutil.Process(pid).create_time()
    svc.ingest(
        [
            {
                "event": "operation.started",
                "operation_id": op_id,
                "pid": pid,
                "pid_started_at": started_at,
            }
        ]
    )


def wait_status(svc: OperationsService, op_id: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = (svc.get(op_id) or {}).get("status", "")
        if status not in ("running", "stopping"):
            return status
        time.sleep(0.02)
    return status


@contextmanager
def tiny_dashboard(
    svc: OperationsService, seen: list[dict[str, Any]] | None = None
) -> Iterator[str]:
    """POST /api/events and GET /api/operations/<id> over real HTTP, straight to `svc`;
    `seen` collects each POST's Authorization header and items."""
    seen = [] if seen is None else seen

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            items = json.loads(raw)
            seen.append({"auth": self.headers.get("Authorization"), "items": items})
            try:
                accepted, stop = svc.ingest(items if isinstance(items, list) else [items])
            except EventError as exc:
                self._answer(400, {"error": str(exc)})
                return
            self._answer(202, {"accepted": accepted, "stop": stop})

        def do_GET(self) -> None:
            op = svc.get(unquote(self.path.rsplit("/", 1)[-1]))
            self._answer(200 if op else 404, op or {"error": "no such operation"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
