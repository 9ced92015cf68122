"""How fast the live board is, on generated boards of 100 and 10,000 tasks.

    .venv/bin/python bench/board_latency.py                  # both sizes
    .venv/bin/python bench/board_latency.py --tasks 10000 --moves 200 --browser-moves 100

Per board size, against a real `manage.py rundashboard` on a free loopback port:
  (a) startup: process start to the ready line, and to /health reporting every task (3 runs, median)
  (b) file move -> WebSocket message naming the card's new path (p50/p95/max)
  (c) file move -> the card in its new lane in headless Chromium's DOM (p50/p95/max)
  (d) GET / server time over one keep-alive connection (median/p95) and the page size
  (e) server RSS after startup and after the moves
  (f) server CPU while idle, over 10 s
Moves are os.rename between assigned/<agent>/ and done/<agent>/, one at a time, there and back.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    Dashboard,
    Http,
    launch_chromium,
    percentile,
    rss_mb,
    summary,
    wait_for_tasks,
)
from gen_tasks import generate  # noqa: E402

# Where the brief draws the line; a row over it is flagged "SLOW".
LIMITS = {
    "startup_health_s": 3.0,
    "ws_p95_ms": 15.0,
    "dom_p95_ms": 25.0,
    "page_p95_ms": 300.0,
    "page_bytes": 1_000_000,
    "rss_after_mb": 200.0,
}

PAGE_PROBE = """
() => {
  const b = window.__bench = {
    target: null, hit: null,
    arm(path, lane) { this.target = {path, lane}; this.hit = null; return this.check(); },
    check() {
      const t = this.target;
      if (!t || this.hit) return !!this.hit;
      const lane = document.getElementById("lane-" + t.lane);
      if (lane && lane.querySelector('[data-path="' + CSS.escape(t.path) + '"]')) {
        this.hit = {hr: performance.timeOrigin + performance.now(), date: Date.now()};
      }
      return !!this.hit;
    },
  };
  new MutationObserver(() => b.check()).observe(document.body, {childList: true, subtree: true});
  return performance.timeOrigin + performance.now() - Date.now();
}
"""


def movable(collab: Path, count: int) -> list[tuple[Path, Path]]:
    """(assigned path, done path) pairs: files straight under assigned/<agent>/."""
    pairs = []
    for agent_dir in sorted((collab / "assigned").iterdir()):
        for f in sorted(agent_dir.iterdir()):
            if f.is_file() and f.suffix in (".yaml", ".yml"):
                pairs.append((f, collab / "done" / agent_dir.name / f.name))
    # Spread over agents rather than exhausting the first one.
    pairs.sort(key=lambda p: (zlib.crc32(p[0].name.encode()), p[0].name))
    if not pairs:
        raise SystemExit("no task straight under assigned/<agent>/ to move")
    return pairs[:count]  # fewer on a small board: they are reused, still there and back


def moves(pairs: list[tuple[Path, Path]], total: int, collab: Path):
    """Yield (src, dst, new relative path, target lane) `total` times, there and back."""
    for i in range(total):
        assigned, done = pairs[(i // 2) % len(pairs)]
        src, dst, lane = (assigned, done, "done") if i % 2 == 0 else (done, assigned, "assigned")
        if not src.exists():  # an odd total left one in done last run: go from where it is
            src, dst, lane = dst, src, ("assigned" if lane == "done" else "done")
        yield src, dst, dst.relative_to(collab).as_posix(), lane


def measure_startup(collab: Path, db: Path, tasks: int, runs: int, log: Path) -> dict[str, Any]:
    ready, health, stop, codes = [], [], [], []
    for _ in range(runs):
        dash = Dashboard(collab, db, log).start()
        try:
            ready.append(dash.ready_at - dash.started_at)
            health.append(wait_for_tasks(dash, tasks) - dash.started_at)
        finally:
            code, took = dash.stop()
            codes.append(code)
            stop.append(took)
    return {
        "ready_s": statistics.median(ready),
        "health_s": statistics.median(health),
        "ready_runs": ready,
        "health_runs": health,
        "stop_s_max": max(stop),
        "exit_codes": codes,
    }


def measure_page(dash: Dashboard, requests: int) -> dict[str, Any]:
    http_ = Http(dash.host, dash.port)
    try:
        for _ in range(2):  # warm-up: templates, first connection
            http_.get("/")
        times, size = [], 0
        for _ in range(requests):
            t0 = time.perf_counter()
            status, body = http_.get("/")
            times.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                raise RuntimeError(f"GET / answered {status}")
            size = len(body)
        api_times, api_size = [], 0
        for _ in range(5):
            t0 = time.perf_counter()
            _, body = http_.get("/api/tasks")
            api_times.append((time.perf_counter() - t0) * 1000)
            api_size = len(body)
    finally:
        http_.close()
    return {
        "page_median_ms": statistics.median(times),
        "page_p95_ms": percentile(times, 0.95),
        "page_bytes": size,
        "api_tasks_median_ms": statistics.median(api_times),
        "api_tasks_bytes": api_size,
    }


def wait_quiet(dash: Dashboard, limit: float = 120, below: float = 5.0) -> float:
    """Seconds from process start until the server's CPU stays under `below` % for 1 s.

    Ready is not quiet: a big tree may still be parsed in the background after the ready line.
    """
    import psutil

    proc = psutil.Process(dash.pid)
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if proc.cpu_percent(interval=1.0) < below:
            return time.perf_counter() - 1.0 - dash.started_at
    return float("nan")


def measure_idle_cpu(pid: int, seconds: float) -> float:
    import psutil

    proc = psutil.Process(pid)
    proc.cpu_percent(None)
    time.sleep(seconds)
    return float(proc.cpu_percent(None))


def measure_ws(dash: Dashboard, collab: Path, pairs, total: int) -> dict[str, Any]:
    from websockets.sync.client import connect

    latencies, sizes, missed = [], [], 0
    url = f"ws://{dash.host}:{dash.port}/dashboard"
    with connect(url, origin=dash.origin, max_size=None, open_timeout=10) as ws:
        first = ws.recv(timeout=30)  # the full state, since we sent no ?v=
        full_state_bytes = len(first)
        for src, dst, rel, _lane in moves(pairs, total, collab):
            needle = f'data-path="{rel}"'
            _drain(ws)
            t0 = time.perf_counter()
            src.rename(dst)
            deadline = t0 + 5
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    missed += 1
                    break
                try:
                    msg = ws.recv(timeout=left)
                except TimeoutError:
                    missed += 1
                    break
                if needle in msg:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    sizes.append(len(msg))
                    break
    return {
        "ws": summary(latencies),
        "ws_missed": missed,
        "ws_msg_bytes_median": statistics.median(sizes) if sizes else 0,
        "ws_full_state_bytes": full_state_bytes,
    }


def _drain(ws: Any, quiet: float = 0.02) -> None:
    """Swallow trailing messages until the socket has been quiet for `quiet` seconds."""
    while True:
        try:
            ws.recv(timeout=quiet)
        except TimeoutError:
            return


def measure_dom(dash: Dashboard, collab: Path, pairs, total: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    latencies, missed = [], 0
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(dash.url, wait_until="load", timeout=60_000)
            page.wait_for_selector("body[data-ws=open]", timeout=30_000)
            page_open_ms = (time.perf_counter() - t0) * 1000
            offset = page.evaluate(PAGE_PROBE)  # high-resolution clock minus Date.now()
            # Python's wall clock against the page's: Date.now() must fall inside [before, after].
            before = time.time() * 1000
            page_now = page.evaluate("() => Date.now()")
            after = time.time() * 1000
            clock_skew = page_now - (before + after) / 2
            for _src, _dst, rel, lane in moves(pairs, total, collab):
                time.sleep(0.03)  # let the previous swap settle
                if page.evaluate("([p, l]) => window.__bench.arm(p, l)", [rel, lane]):
                    raise RuntimeError(f"{rel} is already in the {lane} lane before the move")
                t_py = time.time() * 1000
                _src.rename(_dst)
                try:
                    page.wait_for_function("() => window.__bench.hit !== null", timeout=5000)
                except Exception:
                    missed += 1
                    continue
                hit = page.evaluate("() => window.__bench.hit")
                latencies.append(hit["hr"] - offset - t_py)
            counts_ok = (
                _page_counts(page) == Http(dash.host, dash.port).json("/api/tasks")["counts"]
            )
        finally:
            browser.close()
    return {
        "dom": summary(latencies),
        "dom_missed": missed,
        "page_open_ms": page_open_ms,
        "clock_skew_ms": clock_skew,
        "clock_window_ms": after - before,
        "dom_counts_match": counts_ok,
    }


def _page_counts(page: Any) -> dict[str, int]:
    return page.evaluate(
        """() => Object.fromEntries(["inbox", "assigned", "done", "total"].map(
             k => [k, parseInt(document.getElementById("count-" + k).textContent, 10)]))"""
    )


def run_size(tasks: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-board-{tasks}-") as tmp:
        collab = Path(tmp) / "collaboration"
        t0 = time.perf_counter()
        generate(collab, tasks, agents=args.agents, done_share=0.7, seed=args.seed)
        print(f"[{tasks}] generated the board in {time.perf_counter() - t0:.1f} s", flush=True)
        db = args.telemetry_db or Path(tmp) / "telemetry.db"  # missing: "No data yet"
        log = Path(tmp) / "server.log"
        pairs = movable(collab, max(args.moves, args.browser_moves) // 2 + 1)
        result: dict[str, Any] = {"tasks": tasks}
        result.update(measure_startup(collab, db, tasks, args.startup_runs, log))
        print(
            f"[{tasks}] startup: ready {result['ready_s']:.2f} s,"
            f" health {result['health_s']:.2f} s",
            flush=True,
        )
        dash = Dashboard(collab, db, log).start()
        try:
            wait_for_tasks(dash, tasks)
            result["quiet_s"] = wait_quiet(dash)
            print(f"[{tasks}] quiet {result['quiet_s']:.1f} s after start", flush=True)
            result["rss_start_mb"] = rss_mb(dash.pid)
            result["idle_cpu_pct"] = measure_idle_cpu(dash.pid, args.idle_seconds)
            result["idle_s"] = args.idle_seconds
            print(f"[{tasks}] idle CPU {result['idle_cpu_pct']:.1f} %", flush=True)
            result.update(measure_page(dash, args.page_requests))
            print(f"[{tasks}] GET / median {result['page_median_ms']:.1f} ms", flush=True)
            if args.moves:
                result.update(measure_ws(dash, collab, pairs, args.moves))
                print(f"[{tasks}] WS p50 {result['ws']['p50']:.1f} ms", flush=True)
            if args.browser_moves:
                result.update(measure_dom(dash, collab, pairs, args.browser_moves))
                print(f"[{tasks}] DOM p50 {result['dom']['p50']:.1f} ms", flush=True)
            result["rss_after_mb"] = rss_mb(dash.pid)
        finally:
            code, took = dash.stop()
            result["final_exit_code"], result["final_stop_s"] = code, took
        if code != 0:
            print(dash.output()[-3000:], file=sys.stderr)
    return result


def fmt(value: float, unit: str = "") -> str:
    return "n/a" if value != value else f"{value:,.1f}{unit}"


def print_table(r: dict[str, Any]) -> None:
    def flag(ok: bool) -> str:
        return "ok" if ok else "SLOW"

    rows: list[tuple[str, str, str]] = []
    rows.append(("(a) start -> ready line (median of 3)", f"{r['ready_s']:.2f} s", ""))
    rows.append(
        (
            "(a) start -> /health reports all tasks",
            f"{r['health_s']:.2f} s  (runs {', '.join(f'{x:.2f}' for x in r['health_runs'])})",
            flag(r["health_s"] <= LIMITS["startup_health_s"]),
        )
    )
    rows.append(
        (
            "    SIGTERM -> exit (max), exit codes",
            f"{r['stop_s_max']:.2f} s, {r['exit_codes']}",
            flag(r["stop_s_max"] <= 2 and not any(r["exit_codes"])),
        )
    )
    if "ws" in r:
        w = r["ws"]
        rows.append(
            (
                f"(b) move -> WS message, n={w['n']}",
                f"p50 {fmt(w['p50'])}  p95 {fmt(w['p95'])}  max {fmt(w['max'])} ms"
                f"  (missed {r['ws_missed']})",
                flag(w["p95"] <= LIMITS["ws_p95_ms"] and not r["ws_missed"]),
            )
        )
        rows.append(
            (
                "    WS update message / full state",
                f"{r['ws_msg_bytes_median']:,.0f} B / {r['ws_full_state_bytes']:,} B",
                "",
            )
        )
    if "dom" in r:
        d = r["dom"]
        rows.append(
            (
                f"(c) move -> DOM (Chromium), n={d['n']}",
                f"p50 {fmt(d['p50'])}  p95 {fmt(d['p95'])}  max {fmt(d['max'])} ms"
                f"  (missed {r['dom_missed']})",
                flag(d["p95"] <= LIMITS["dom_p95_ms"] and not r["dom_missed"]),
            )
        )
        rows.append(
            (
                "    page load -> socket open; clock skew",
                f"{r['page_open_ms']:.0f} ms; {r['clock_skew_ms']:+.1f} ms"
                f" (+/-{r['clock_window_ms'] / 2:.1f})",
                "",
            )
        )
        rows.append(
            (
                "    page counts == /api/tasks counts",
                str(r["dom_counts_match"]),
                flag(r["dom_counts_match"]),
            )
        )
    rows.append(
        (
            "(d) GET / server time (median / p95)",
            f"{r['page_median_ms']:.1f} / {r['page_p95_ms']:.1f} ms",
            flag(r["page_p95_ms"] <= LIMITS["page_p95_ms"]),
        )
    )
    rows.append(
        ("(d) GET / size", f"{r['page_bytes']:,} B", flag(r["page_bytes"] <= LIMITS["page_bytes"]))
    )
    rows.append(
        (
            "    GET /api/tasks (median, size)",
            f"{r['api_tasks_median_ms']:.1f} ms, {r['api_tasks_bytes']:,} B",
            "",
        )
    )
    rows.append(
        (
            "(a) start -> CPU quiet (<5 % for 1 s)",
            f"{r['quiet_s']:.1f} s",
            flag(r["quiet_s"] <= LIMITS["startup_health_s"]),
        )
    )
    rows.append(
        (
            "(e) RSS after startup (once quiet)",
            f"{r['rss_start_mb']:.1f} MB",
            flag(r["rss_start_mb"] <= LIMITS["rss_after_mb"]),
        )
    )
    rows.append(
        (
            "(e) RSS after the moves",
            f"{r['rss_after_mb']:.1f} MB",
            flag(r["rss_after_mb"] <= LIMITS["rss_after_mb"]),
        )
    )
    rows.append(
        (
            f"(f) idle CPU over {r['idle_s']:.0f} s",
            f"{r['idle_cpu_pct']:.1f} % of a core",
            flag(r["idle_cpu_pct"] <= 2),
        )
    )
    rows.append(
        (
            "    final SIGTERM -> exit",
            f"{r['final_stop_s']:.2f} s, code {r['final_exit_code']}",
            flag(r["final_stop_s"] <= 2 and r["final_exit_code"] == 0),
        )
    )
    width = max(len(a) for a, _, _ in rows)
    vwidth = max(len(b) for _, b, _ in rows)
    print(f"\n=== board of {r['tasks']:,} tasks ===")
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:<{vwidth}}  {c}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tasks", type=int, action="append", help="board size (repeatable; default 100 and 10000)"
    )
    parser.add_argument("--moves", type=int, default=200, help="WebSocket moves per size")
    parser.add_argument(
        "--browser-moves", type=int, default=100, help="Chromium moves per size (0: skip)"
    )
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--page-requests", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--telemetry-db", type=Path, help="a telemetry file to serve (default: none)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    sizes = args.tasks or [100, 10000]
    if min(sizes) < 4 or args.moves > 2000 or args.browser_moves > 1000:
        parser.error("--tasks >= 4, --moves <= 2000, --browser-moves <= 1000")
    results = []
    for size in sizes:
        result = run_size(size, args)
        results.append(result)
        print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
