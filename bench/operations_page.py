"""Operation event appended to a `.jsonl` file → visible in a real Chromium page, p50/p95.

    .venv/bin/python bench/operations_page.py [--events 200] [--interval 0.05]
    .venv/bin/python bench/operations_page.py --background-ops 19 --background-rate 1000

With `--background-ops N`, N other operations stream `--background-rate` events a second in
total (progress with output lines, and costs) meanwhile: the figures then show the lag under
load, with the server's CPU and RSS.

Starts `rundashboard` with an events dir, opens the board in headless Chromium, starts one
operation, then appends `operation.cost` lines with a new cost each. The page records (in a
MutationObserver) when each cost first shows in `#operations`; the latency is that moment
minus the moment the line was written (same machine clock).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import psutil
from benchlib import Dashboard, launch_chromium, summary

RECORDER = """
() => {
  window.__seen = {};
  const note = () => {
    const el = document.querySelector('#operations [data-operation-id="bench-op"] .ops-cost');
    if (el && el.dataset.cost && !(el.dataset.cost in window.__seen)) {
      window.__seen[el.dataset.cost] = Date.now();
    }
  };
  new MutationObserver(note).observe(document.body, {childList: true, subtree: true});
  note();
}
"""


def append(path: Path, event: dict) -> float:
    line = json.dumps(event) + "\n"
    with path.open("a", encoding="utf-8") as f:
        f.write(line)
    return time.time() * 1000


def stream(path: Path, args: argparse.Namespace, stop: threading.Event) -> None:
    """`args.background_ops` operations, `args.background_rate` events a second in total."""
    ops = [f"bg-{i}" for i in range(args.background_ops)]
    with path.open("a", encoding="utf-8") as f:
        for op in ops:
            f.write(json.dumps({"event": "operation.started", "operation_id": op}) + "\n")
        f.flush()
        n, start = 0, time.monotonic()
        while not stop.is_set():
            op = ops[n % len(ops)]
            if n % 2:
                event = {"event": "operation.cost", "operation_id": op, "cost_usd": n / 1e5}
            else:
                event = {"event": "operation.progress", "operation_id": op,
                         "percent": n % 100, "output": [f"line {n} of the output"]}  # fmt: skip
            f.write(json.dumps(event) + "\n")
            n += 1
            if n % 50 == 0:
                f.flush()
                ahead = n / args.background_rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between events")
    parser.add_argument("--background-ops", type=int, default=0)
    parser.add_argument("--background-rate", type=float, default=1000.0, help="events/s, total")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "collab" / "inbox").mkdir(parents=True)
        events = base / "events"
        events.mkdir()
        log = events / "bench.jsonl"
        server = Dashboard(
            base / "collab", base / "t.db", extra_args=["--events-dir", str(events)]
        ).start()
        try:
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page()
                page.goto(server.url)
                page.wait_for_selector("body[data-ws='open']", timeout=15_000)
                append(log, {"event": "operation.started", "operation_id": "bench-op",
                             "agent": "bench", "model": "m", "tool": "t"})  # fmt: skip
                page.wait_for_selector('[data-operation-id="bench-op"]', timeout=15_000)
                page.evaluate(RECORDER)
                stop_background = threading.Event()
                background = threading.Thread(
                    target=stream,
                    args=(events / "background.jsonl", args, stop_background),
                    daemon=True,
                )
                proc = psutil.Process(server.pid)
                cpu_before, wall_before = sum(proc.cpu_times()[:2]), time.monotonic()
                if args.background_ops:
                    background.start()
                written: dict[str, float] = {}
                for i in range(1, args.events + 1):
                    cost = round(i * 0.001, 6)
                    written[repr(float(cost))] = append(
                        log, {"event": "operation.cost", "operation_id": "bench-op",
                              "cost_usd": cost, "prompt_tokens": i, "completion_tokens": i}
                    )  # fmt: skip
                    time.sleep(args.interval)
                stop_background.set()
                cpu = (sum(proc.cpu_times()[:2]) - cpu_before) / (time.monotonic() - wall_before)
                rss = proc.memory_info().rss / 2**20
                time.sleep(1.0)
                seen = page.evaluate("() => window.__seen")
                browser.close()
        finally:
            server.stop()
    latencies = [seen[k] - t for k, t in written.items() if k in seen]
    stats = summary(latencies)
    print(f"events written: {len(written)}, seen in the page: {len(latencies)}")
    print(
        "appended -> visible in the page (ms): "
        + ", ".join(f"{k} {v:.1f}" for k, v in stats.items())
    )
    print(f"server CPU {cpu * 100:.0f} % of one core, RSS {rss:.0f} MB during the run")
    if args.background_ops:
        print(f"with {args.background_ops} other operations at {args.background_rate:.0f} events/s")
    print("(a cost superseded before the page painted it is not counted: pushes coalesce)")


if __name__ == "__main__":
    main()
