"""Live operations: event -> state latency, 1,000 events/s, start-up on a 1 GB log, Stop.

    .venv/bin/python bench/operations.py                  # everything (about 2 minutes)
    .venv/bin/python bench/operations.py --skip-big --skip-stop

The service runs in this process exactly as `rundashboard` will run it (its own tailer thread,
`on_change` coalesced); writers are separate processes appending to real files in a temporary
directory under /tmp, removed afterwards (the 1 GB log too). Stop uses the real default
timeouts (2 s cooperative, 10 s SIGINT, 5 s SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")

from telemetry.operations.service import OperationsService  # noqa: E402
from telemetry.operations.stopper import Timeouts  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def line(**obj: object) -> bytes:
    return (json.dumps(obj) + "\n").encode()


def latency(folder: Path, samples: int) -> None:
    """Append one event; time until on_change fires with it in the book."""
    svc = OperationsService()
    changed = threading.Event()
    svc.start(folder, changed.set)
    svc.ready.wait(10)
    log = folder / "latency.jsonl"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, line(event="operation.started", operation_id="lat"))
    time.sleep(0.2)
    times = []
    for i in range(samples):
        changed.clear()
        began = time.perf_counter()
        os.write(
            fd, line(event="operation.progress", operation_id="lat", percent=i % 100, step=str(i))
        )
        while True:
            changed.wait(1)
            op = svc.get("lat")
            if op and op["progress"] and op["progress"]["step"] == str(i):
                break
            changed.clear()
        times.append((time.perf_counter() - began) * 1000)
        time.sleep(0.03)
    os.close(fd)
    svc.stop()
    print(
        f"(a) event appended -> on_change with it: p50 {pct(times, 50):.1f} ms, "
        f"p95 {pct(times, 95):.1f} ms, max {max(times):.1f} ms ({samples} events)"
    )


WRITER = r"""
import json, os, sys, time
folder, ops, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
fds = [os.open(os.path.join(folder, f"w{i % 4}.jsonl"), flags) for i in range(ops)]
def send(i, ev):
    data = json.dumps({"operation_id": f"op{i}", "ts": time.time(), **ev}) + "\n"
    os.write(fds[i], data.encode())
for i in range(ops):
    send(i, {"event": "operation.started", "agent": f"agent{i % 5}"})
n, start = 0, time.time()
while time.time() - start < seconds:
    i, kind = n % ops, n % 3
    if kind == 0:
        ev = {"event": "operation.progress", "percent": n % 100, "output": [f"line {n} key=a{n}"]}
    elif kind == 1:
        ev = {"event": "operation.cost", "prompt_tokens": n, "completion_tokens": n // 2,
              "cost_usd": n / 1e5}
    else:
        ev = {"event": "operation.progress", "step": f"step {n}", "message": "working"}
    send(i, {**ev, "event_id": f"e{n}"})
    n += 1
    delay = start + n / rate - time.time()
    if delay > 0:
        time.sleep(delay)
print(n)
"""


def throughput(folder: Path, rate: float, seconds: float) -> None:
    svc = OperationsService()
    lags: list[float] = []
    changes: list[float] = []
    apply = svc.book.apply

    def timed_apply(event):  # type: ignore[no-untyped-def]
        result = apply(event)
        lags.append((time.time() - event.ts) * 1000)
        return result

    svc.book.apply = timed_apply  # type: ignore[method-assign]
    svc.start(folder, lambda: changes.append(time.monotonic()))
    svc.ready.wait(10)
    me = psutil.Process()
    cpu0 = me.cpu_times()
    t0 = time.monotonic()
    writer = subprocess.run(
        [sys.executable, "-c", WRITER, str(folder), "20", str(rate), str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    time.sleep(0.3)
    wall = time.monotonic() - t0
    cpu1 = me.cpu_times()
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall * 100
    rss = me.memory_info().rss / 2**20
    svc.stop()
    sent = int(writer.stdout.strip())
    gaps = [b - a for a, b in zip(changes, changes[1:], strict=False)]
    print(
        f"(b) {sent / seconds:.0f} events/s over 20 operations for {seconds:.0f} s: "
        f"applied {len(lags)} of {sent + 20}; "
        f"lag p50 {pct(lags, 50):.1f} ms, p95 {pct(lags, 95):.1f} ms, "
        f"max {max(lags):.1f} ms; CPU {cpu:.1f} % of one core; RSS {rss:.0f} MiB; "
        f"on_change {len(changes)} times, min gap {min(gaps) * 1000:.1f} ms"
    )


def big_start(folder: Path, size_gb: float) -> None:
    log = folder / "big.jsonl"
    print(f"(c) writing a {size_gb:g} GB events log in {folder} ...", flush=True)
    chunk = b"".join(
        line(
            event="operation.progress",
            operation_id=f"old{i % 500}",
            percent=i % 100,
            output=[f"old output line {i}"],
            ts="2026-01-01T00:00:00Z",
        )
        for i in range(10_000)
    )
    with open(log, "wb") as f:
        # Operations still running: started early on (beyond the read-back window).
        for i in range(5):
            f.write(line(event="operation.started", operation_id=f"run{i}", agent="dev"))
        while f.tell() < size_gb * 1024**3 - 20 * 1024**2:
            f.write(chunk)
        for i in range(5):
            f.write(line(event="operation.started", operation_id=f"near{i}", agent="dev"))
        while f.tell() < size_gb * 1024**3:
            f.write(chunk)
        for i in range(5):
            f.write(line(event="operation.progress", operation_id=f"run{i}", percent=50))
            f.write(line(event="operation.progress", operation_id=f"near{i}", percent=50))
    os.posix_fadvise(os.open(log, os.O_RDONLY), 0, 0, os.POSIX_FADV_DONTNEED)  # cold-ish cache
    times, found = [], ""
    for _ in range(3):
        svc = OperationsService()
        began = time.perf_counter()
        svc.start(folder)
        svc.ready.wait(60)
        times.append(time.perf_counter() - began)
        near = sum(1 for i in range(5) if not svc.book.get(f"near{i}")["placeholder"])
        far = sum(1 for i in range(5) if not svc.book.get(f"run{i}")["placeholder"])
        found = f"starts found: {near}/5 within 32 MiB back, {far}/5 at the very beginning"
        lines = svc.read_back_lines
        svc.stop()
    print(
        f"(c) start with a {log.stat().st_size / 1024**3:.2f} GB log: ready (history read back) "
        f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms; "
        f"{lines} events read back; {found}"
    )
    log.unlink()


COOPERATIVE = r"""
import sys, time
from telemetry.operations.producer import operation
with operation(tool="bench", operation_id="coop", events_dir=sys.argv[1], url=sys.argv[2]) as op:
    print("ready", flush=True)
    while not op.stop_requested:
        time.sleep(0.05)
"""
IGNORE_INT = "signal.signal(signal.SIGINT, signal.SIG_IGN)"
SLEEPER = "import signal, time\n{}\nprint('ready', flush=True)\ntime.sleep(120)\n"


def stop_steps(folder: Path) -> None:
    sys.path.insert(0, str(REPO))
    from tests.operations.helpers import register, tiny_dashboard, wait_status

    svc = OperationsService(timeouts=Timeouts())
    cases = [
        ("cooperative", None, "stopped"),
        ("SIGINT", "signal.signal(signal.SIGINT, signal.default_int_handler)", "interrupted"),
        ("SIGTERM", IGNORE_INT, "terminated"),
        ("SIGKILL", IGNORE_INT + "; signal.signal(signal.SIGTERM, signal.SIG_IGN)", "killed"),
    ]
    with tiny_dashboard(svc) as url:
        for name, setup, expected in cases:
            if setup is None:
                cmd = [sys.executable, "-c", COOPERATIVE, str(folder), url]
                op_id = "coop"
            else:
                cmd = [sys.executable, "-c", SLEEPER.format(setup)]
                op_id = name
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            if setup is not None:
                register(svc, op_id, proc.pid)
            while svc.get(op_id) is None:
                time.sleep(0.01)
            began = time.perf_counter()
            svc.request_stop(op_id)
            proc.wait(60)
            gone = time.perf_counter() - began
            status = wait_status(svc, op_id, 30)
            print(
                f"(d) Stop -> process gone, {name:11s}: {gone:6.2f} s, status {status} "
                f"({'ok' if status == expected else 'expected ' + expected})",
                flush=True,
            )
    svc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--skip-stop", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ops-bench-", dir="/tmp"))
    try:
        for name in ("lat", "rate", "big", "stop"):
            (root / name).mkdir()
        latency(root / "lat", args.samples)
        throughput(root / "rate", args.rate, args.seconds)
        if not args.skip_big:
            big_start(root / "big", args.size_gb)
        if not args.skip_stop:
            stop_steps(root / "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
