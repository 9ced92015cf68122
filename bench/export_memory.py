"""Server memory (RSS) while the drill-down exports a big list, against a real `rundashboard`.

    python bench/telemetry_gen.py --schema llm --rows 1000000 --out bench/out/llm-1m.db
    python bench/export_memory.py bench/out/llm-1m.db [--slow-clients 6 --rate 200000]

Scenarios, one after the other on the same server:
  csv, json    one client reading as fast as it can: bytes, seconds, time to first byte;
  slow         --slow-clients clients each reading --rate bytes/s for --slow-seconds, then
               hanging up (what the review's `curl --limit-rate 200k -m 40` did).
For each: RSS before, peak RSS during (sampled every 0.1 s), and RSS --settle seconds after.
Memory that stays flat means the figures do not grow with the export's size.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import LANES, Dashboard, rss_mb  # noqa: E402

LIST = "/telemetry/telemetry/invocation/"


class Sampler:
    """Peak RSS of a process, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid, self.every = pid, every
        self.peak = rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def download(port: int, path: str, rate: float = 0, seconds: float = 0) -> dict:
    """Read a response; `rate` bytes/s (0: as fast as possible), stop after `seconds` (0: all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    first = None
    size = 0
    while True:
        chunk = response.read(16384)
        if not chunk:
            break
        first = first or time.perf_counter() - started
        size += len(chunk)
        elapsed = time.perf_counter() - started
        if seconds and elapsed >= seconds:
            break
        if rate and size / rate > elapsed:
            time.sleep(size / rate - elapsed)
    conn.close()  # hang up, finished or not
    return {
        "status": response.status,
        "bytes": size,
        "seconds": time.perf_counter() - started,
        "first_byte_s": first,
    }


def wait_loaded(dash: Dashboard, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", dash.port, timeout=30)
        conn.request("GET", "/api/stats")
        state = json.loads(conn.getresponse().read())["state"]
        conn.close()
        if state == "ok":
            return
        time.sleep(1)
    raise RuntimeError("telemetry never loaded")


def scenario(dash: Dashboard, name: str, runs: list[tuple], settle: float) -> dict:
    before = rss_mb(dash.pid)
    results: list[dict] = []
    with Sampler(dash.pid) as sampler:
        threads = [
            threading.Thread(target=lambda a=args: results.append(download(dash.port, *a)))
            for args in runs
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(settle)
    after = rss_mb(dash.pid)
    return {
        "scenario": name,
        "clients": len(runs),
        "statuses": sorted({r["status"] for r in results}),
        "MB_sent": sum(r["bytes"] for r in results) / 2**20,
        "seconds": max(r["seconds"] for r in results),
        "first_byte_s": max(r["first_byte_s"] or 0 for r in results),
        "rss_before_MB": before,
        "rss_peak_MB": sampler.peak,
        "rss_after_MB": after,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path, help="telemetry database (bench/telemetry_gen.py)")
    parser.add_argument("--slow-clients", type=int, default=6)
    parser.add_argument("--rate", type=float, default=200_000, help="bytes/s per slow client")
    parser.add_argument("--slow-seconds", type=float, default=40)
    parser.add_argument("--settle", type=float, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        collab = Path(tmp) / "collab"
        for lane in LANES:
            (collab / lane).mkdir(parents=True)
        dash = Dashboard(collab, args.db.resolve()).start()
        try:
            wait_loaded(dash)
            print(f"server pid {dash.pid}, loaded; RSS {rss_mb(dash.pid):.0f} MB", flush=True)
            rows = [
                scenario(dash, "csv", [(f"{LIST}export.csv",)], args.settle),
                scenario(dash, "json", [(f"{LIST}export.json",)], args.settle),
                scenario(
                    dash,
                    f"slow json {args.rate / 1000:.0f} kB/s",
                    [(f"{LIST}export.json", args.rate, args.slow_seconds)] * args.slow_clients,
                    args.settle,
                ),
            ]
        finally:
            dash.stop()
    columns = list(rows[0])
    print(" | ".join(columns))
    for r in rows:
        print(
            " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r.values()),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
