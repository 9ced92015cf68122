"""Shared by the benchmarks: a real `rundashboard` process, HTTP on loopback, statistics."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LANES = ("inbox", "assigned", "done")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dashboard:
    """`manage.py rundashboard` on a free loopback port; output drained by a thread."""

    def __init__(
        self,
        collab: Path,
        telemetry_db: Path,
        log_path: Path | None = None,
        extra_args: Iterable[str] = (),
        *,
        role: str = "all",
        env: dict[str, str] | None = None,
    ) -> None:
        self.extra_args = list(extra_args)
        self.role = role
        self.extra_env = env or {}
        self.collab = collab
        self.telemetry_db = telemetry_db
        self.port = free_port()
        self.host = "127.0.0.1"
        self.url = f"http://{self.host}:{self.port}/"
        self.origin = f"http://{self.host}:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0  # perf_counter just before Popen
        self.ready_at = 0.0  # perf_counter when the ready line was read
        self._ready = threading.Event()
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 120) -> Dashboard:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.extra_env}
        cmd = [
            sys.executable, str(REPO / "manage.py"), "rundashboard",
            "--host", self.host, "--port", str(self.port), "--role", self.role,
            "--collab-dir", str(self.collab), "--telemetry-db", str(self.telemetry_db),
            *self.extra_args,
        ]  # fmt: skip
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.stop()
            tail = "".join(self._lines[-20:])
            raise RuntimeError(f"rundashboard not ready after {timeout} s; output:\n{tail}")
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        log = open(self.log_path, "a", encoding="utf-8") if self.log_path else None  # noqa: SIM115
        try:
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace")
                if not self._ready.is_set() and "Dashboard ready at" in line:
                    self.ready_at = time.perf_counter()
                    self._ready.set()
                if len(self._lines) < 2000:
                    self._lines.append(line)
                if log:
                    log.write(line)
        finally:
            if log:
                log.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = 5) -> tuple[int, float]:
        """SIGTERM; the exit code and seconds it took to exit (-1 code if it had to be killed)."""
        if self.proc is None:
            return 0, 0.0
        t0 = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = -1
        took = time.perf_counter() - t0
        if self._reader is not None:
            self._reader.join(timeout=2)
        return code, took

    def output(self) -> str:
        return "".join(self._lines)


class Http:
    """One keep-alive HTTP/1.1 connection to the dashboard."""

    def __init__(self, host: str, port: int, timeout: float = 30) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request("GET", path, headers={"Connection": "keep-alive"})
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
        return json.loads(body)

    def close(self) -> None:
        self.conn.close()


def wait_for_tasks(
    dash: Dashboard, expected: int, timeout: float = 120, all_read: bool = False
) -> float:
    """perf_counter when /health first reports `expected` tasks (and, with `all_read`, no
    task files left to read in the background)."""
    deadline = time.perf_counter() + timeout
    http_ = Http(dash.host, dash.port, timeout=5)
    try:
        while time.perf_counter() < deadline:
            try:
                health = http_.json("/health")
                if health.get("tasks") == expected and not (all_read and health.get("reading")):
                    return time.perf_counter()
            except (OSError, http.client.HTTPException, RuntimeError, ValueError):
                http_.close()
                http_ = Http(dash.host, dash.port, timeout=5)
            time.sleep(0.01)
    finally:
        http_.close()
    raise RuntimeError(f"/health did not report {expected} tasks within {timeout} s")


def disk_counts(collab: Path) -> dict[str, int]:
    """Task files per lane, counted straight from the disk (the contract's rules, simplified)."""
    counts = dict.fromkeys(LANES, 0)
    for lane in LANES:
        for _dirpath, dirnames, filenames in os.walk(collab / lane):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            counts[lane] += sum(
                1 for f in filenames if f.endswith((".yaml", ".yml")) and not f.startswith(".")
            )
    counts["total"] = sum(counts[lane] for lane in LANES)
    return counts


def percentile(values: Iterable[float], q: float) -> float:
    data = sorted(values)
    if not data:
        return float("nan")
    k = (len(data) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "max": max(values) if values else float("nan"),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


def rss_mb(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / 2**20


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


class Redis:
    """A throwaway `redis-server` on a free loopback port, nothing saved to disk."""

    def __init__(self, workdir: Path) -> None:
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time used so far by these processes."""
    import psutil

    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total
