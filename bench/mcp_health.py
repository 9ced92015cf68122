"""The MCP supervisor under load: N managed servers checked every interval.

Runs the supervisor (`mcp_servers.service.MCPService`) in this process, as rundashboard does,
with N real SDK servers (`mcp_servers/demo_servers/healthy.py`) started with auto_start, and
measures:
  - the supervisor's own CPU (this process, children excluded) and memory over a steady window;
  - Start -> running: the N servers started together, then Start pressed on one stopped server
    at a time (p50 / p95);
  - crash -> unhealthy: a server SIGKILLed (after psutil confirms it is the one we started)
    until the snapshot says `unhealthy` (p50 / p95).

The contract's interval is 30 s; the default here is 2 s so a short window holds many checks
(at 30 s the supervisor does 15x less work).

    .venv/bin/python bench/mcp_health.py --servers 20 --interval 2 --window 30 --crashes 10
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mcp_servers.client import MARKER_ENV  # noqa: E402
from mcp_servers.service import MCPService, wait_for  # noqa: E402

HEALTHY = REPO / "mcp_servers" / "demo_servers" / "healthy.py"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, values: list[float], unit: str = "s") -> str:
    return (
        f"{name}: n={len(values)} p50={pct(values, 50):.2f}{unit} "
        f"p95={pct(values, 95):.2f}{unit} max={max(values):.2f}{unit}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--window", type=float, default=30.0, help="steady-state seconds")
    parser.add_argument("--crashes", type=int, default=10)
    parser.add_argument("--starts", type=int, default=10)
    opts = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mcp-bench-"))
    names = [f"s{i:02d}" for i in range(opts.servers)]
    path = workdir / "mcp_servers.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "health_check_interval_seconds": opts.interval,
                "startup_timeout_seconds": 60,
                "shutdown_timeout_seconds": 5,
                "servers": {
                    n: {
                        "command": sys.executable,
                        "args": [str(HEALTHY)],
                        "auto_start": True,
                        "health_check": {"method": "ping", "timeout_seconds": 5},
                    }
                    for n in names
                },
            }
        )
    )
    me = psutil.Process()
    svc = MCPService()
    print(f"{opts.servers} managed servers, checks every {opts.interval:g} s (contract: 30 s)")
    started = time.perf_counter()
    running_at: dict[str, float] = {}

    def on_change() -> None:
        now = time.perf_counter()
        for view in svc.snapshot().servers:
            if view.status == "running" and view.name not in running_at:
                running_at[view.name] = now

    try:
        svc.start([path], on_change=on_change)
        wait_for(svc, lambda s: all(v.status == "running" for v in s.servers), timeout=300)
        cold = [running_at[n] - started for n in names if n in running_at]
        print(summary(f"start -> running, all {opts.servers} at once (cold)", cold))

        # Steady state: only checks happen.
        time.sleep(opts.interval * 2)
        cpu0, wall0 = me.cpu_times(), time.perf_counter()
        checks0 = sum(len(v.checks) for v in svc.snapshot().servers)
        rss_samples = []
        while time.perf_counter() - wall0 < opts.window:
            rss_samples.append(me.memory_info().rss / 2**20)
            time.sleep(1)
        cpu1, wall1 = me.cpu_times(), time.perf_counter()
        snap = svc.snapshot()
        used = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        servers_rss = sum(v.rss_mb or 0 for v in snap.servers)
        checks = sum(len(v.checks) for v in snap.servers) - checks0
        print(
            f"supervisor CPU over {wall1 - wall0:.0f} s: {100 * used / (wall1 - wall0):.2f} % of "
            f"one core; RSS {statistics.median(rss_samples):.0f} MB (this process, SDK included); "
            f"~{max(0, checks)} checks recorded (history capped at 20 per server)"
        )
        print(f"servers' own memory: {servers_rss:.0f} MB in total")

        # Crash -> unhealthy.
        crash_times = []
        for name in names[: opts.crashes]:
            view = svc.snapshot().server(name)
            assert view is not None and view.pid is not None
            proc = psutil.Process(view.pid)
            if proc.environ().get(MARKER_ENV) is None:  # not one we started: leave it alone
                continue
            t0 = time.perf_counter()
            os.kill(view.pid, signal.SIGKILL)
            wait_for(
                svc,
                lambda s, n=name: s.server(n).status in ("unhealthy", "starting"),
                timeout=60,
            )
            crash_times.append(time.perf_counter() - t0)
        if crash_times:
            print(summary("crash -> unhealthy", [t * 1000 for t in crash_times], "ms"))
        wait_for(svc, lambda s: all(v.status == "running" for v in s.servers), timeout=300)

        # Start pressed on a stopped server, one at a time.
        start_times = []
        for name in names[: opts.starts]:
            svc.request(name, "stop")
            wait_for(svc, lambda s, n=name: s.server(n).status == "stopped", timeout=60)
            t0 = time.perf_counter()
            svc.request(name, "start")
            wait_for(svc, lambda s, n=name: s.server(n).status == "running", timeout=120)
            start_times.append(time.perf_counter() - t0)
        print(summary("Start -> running, one at a time", start_times))
    finally:
        t0 = time.perf_counter()
        svc.stop()
        print(f"stop (all managed servers): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
