"""Does the page stay responsive, and end up right, while 50 files a second move?

    .venv/bin/python bench/burst.py                              # 1,000 tasks, 50 moves/s, 10 s
    .venv/bin/python bench/burst.py --tasks 10000 --rate 50 --seconds 10

Starts a real `manage.py rundashboard` on a generated board, opens the board in headless
Chromium, then renames --rate files a second for --seconds seconds (inbox -> assigned ->
done -> assigned ..., random tasks, random agents). Meanwhile the page records its long
tasks (PerformanceObserver 'longtask') and the largest gap between animation frames. At the
end it checks that the page converges on the disk: #count-* against /api/tasks and a fresh
count of the files, and every agent group's count and every card's path against /api/tasks.
Exit code 1 if the page did not converge.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    Dashboard,
    Http,
    disk_counts,
    launch_chromium,
    rss_mb,
    summary,
    wait_for_tasks,
)
from gen_tasks import agent_names, generate  # noqa: E402

MONITOR = """
() => {
  const m = window.__burst = {
    longtasks: [], gaps: [], last: performance.now(), running: true,
    supported: PerformanceObserver.supportedEntryTypes.includes("longtask"),
  };
  if (m.supported) {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) m.longtasks.push(e.duration);
    }).observe({type: "longtask"});
  }
  const frame = now => {
    m.gaps.push(now - m.last);
    m.last = now;
    if (m.running) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  return m.supported;
}
"""

PAGE_STATE = """
() => {
  const num = id => parseInt(document.getElementById(id).textContent, 10);
  const counts = Object.fromEntries(
    ["inbox", "assigned", "done", "total"].map(k => [k, num("count-" + k)]));
  const groups = [];
  for (const lane of ["inbox", "assigned", "done"]) {
    for (const g of document.querySelectorAll("#lane-" + lane + " section.group")) {
      const c = g.querySelector(".group-count");
      groups.push({lane, agent: g.dataset.agent || "",
                   total: c ? parseInt(c.textContent, 10) : null,
                   cards: Array.from(g.querySelectorAll("[data-path]")).map(e => e.dataset.path)});
    }
  }
  const body = document.body.dataset;
  return {counts, groups, messages: +(body.wsMessages || 0), ws: body.ws};
}
"""


class Mover:
    """Random moves between lanes, tracking where every file is now."""

    def __init__(self, collab: Path, agents: list[str], seed: int) -> None:
        self.collab = collab
        self.agents = agents
        self.rng = random.Random(seed)
        # Files straight under a lane or an agent folder (deeper archived ones stay put).
        self.files: list[Path] = [
            p for p in collab.glob("*/**/*.y*ml") if len(p.relative_to(collab).parts) <= 3
        ]

    def move_one(self) -> None:
        i = self.rng.randrange(len(self.files))
        src = self.files[i]
        lane = src.relative_to(self.collab).parts[0]
        agent = self.rng.choice(self.agents)
        nxt = {"inbox": "assigned", "assigned": "done", "done": "assigned"}[lane]
        if lane == "assigned" and self.rng.random() < 0.2:
            nxt = "inbox"
        dst_dir = self.collab / nxt if nxt == "inbox" else self.collab / nxt / agent
        dst = dst_dir / src.name
        if dst.exists():
            return
        src.rename(dst)
        self.files[i] = dst


def check(page_state: dict[str, Any], api: dict[str, Any], disk: dict[str, int]) -> list[str]:
    errors = []
    if page_state["counts"] != api["counts"]:
        errors.append(f"page counts {page_state['counts']} != /api/tasks {api['counts']}")
    if api["counts"] != disk:
        errors.append(f"/api/tasks counts {api['counts']} != files on disk {disk}")
    per_group = Counter(
        (t["lane"], "" if t["lane"] == "inbox" else t["agent"]) for t in api["tasks"]
    )
    where = {t["path"]: t["lane"] for t in api["tasks"]}
    seen: set[tuple[str, str]] = set()
    for g in page_state["groups"]:
        key = (g["lane"], g["agent"])
        seen.add(key)
        if g["total"] != per_group.get(key, 0):
            errors.append(
                f"group {key}: page says {g['total']}, /api/tasks has {per_group.get(key, 0)}"
            )
        for path in g["cards"]:
            if where.get(path) != g["lane"]:
                errors.append(
                    f"card {path} shown in {g['lane']}, /api/tasks says {where.get(path)}"
                )
        if len(set(g["cards"])) != len(g["cards"]):
            errors.append(f"group {key} shows a card twice")
    for key in set(per_group) - seen:
        errors.append(f"group {key} with {per_group[key]} tasks is missing from the page")
    return errors


def run(args: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-burst-") as tmp:
        collab = Path(tmp) / "collaboration"
        generate(collab, args.tasks, agents=args.agents, seed=args.seed)
        db = args.telemetry_db or Path(tmp) / "telemetry.db"
        dash = Dashboard(collab, db, Path(tmp) / "server.log").start()
        try:
            wait_for_tasks(dash, args.tasks, all_read=True)  # steady state, not startup
            http_ = Http(dash.host, dash.port)
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                try:
                    page = browser.new_page()
                    page.goto(dash.url, wait_until="load", timeout=60_000)
                    page.wait_for_selector("body[data-ws=open]", timeout=30_000)
                    page.wait_for_timeout(500)
                    supported = page.evaluate(MONITOR)
                    messages_before = page.evaluate(PAGE_STATE)["messages"]
                    mover = Mover(collab, agent_names(args.agents), args.seed)
                    total = int(args.rate * args.seconds)
                    t0 = time.perf_counter()
                    lag = 0.0
                    for i in range(total):
                        due = t0 + i / args.rate
                        now = time.perf_counter()
                        if due > now:
                            time.sleep(due - now)
                        else:
                            lag = max(lag, now - due)
                        mover.move_one()
                    burst_s = time.perf_counter() - t0
                    # Converge: the page's counts equal /api/tasks, within --settle seconds.
                    t_end = time.perf_counter()
                    deadline = t_end + args.settle
                    errors: list[str] = ["never checked"]
                    while time.perf_counter() < deadline:
                        api = http_.json("/api/tasks")
                        state = page.evaluate(PAGE_STATE)
                        errors = check(state, api, disk_counts(collab))
                        if not errors:
                            break
                        page.wait_for_timeout(100)
                    converge_s = time.perf_counter() - t_end
                    mon = page.evaluate(
                        "() => { const m = window.__burst; m.running = false;"
                        " return {longtasks: m.longtasks, gaps: m.gaps.slice(1)}; }"
                    )
                    state = page.evaluate(PAGE_STATE)
                finally:
                    browser.close()
            http_.close()
            rss = rss_mb(dash.pid)
        finally:
            code, took = dash.stop()

    gaps = summary(mon["gaps"])
    long = mon["longtasks"]
    print(f"\n=== burst: {total} moves at {args.rate}/s on a board of {args.tasks:,} tasks ===")
    rows = [
        (
            "moves written",
            f"{total} in {burst_s:.2f} s (worst lag behind schedule {lag * 1000:.0f} ms)",
        ),
        ("WS messages the page handled", str(state["messages"] - messages_before)),
        ("longtask observer", "supported" if supported else "not supported (frame gaps only)"),
        (
            "long tasks (>50 ms)",
            f"{len(long)}, longest {max(long) if long else 0:.0f} ms, total {sum(long):.0f} ms",
        ),
        (
            "frame gap p50 / p95 / max",
            f"{gaps['p50']:.1f} / {gaps['p95']:.1f} / {gaps['max']:.1f} ms over {gaps['n']} frames",
        ),
        (
            "converged after the last move in",
            f"{converge_s:.2f} s" if not errors else f"NOT within {args.settle:.0f} s",
        ),
        ("final page counts", str(state["counts"])),
        ("server RSS after", f"{rss:.1f} MB"),
        ("SIGTERM -> exit", f"{took:.2f} s, code {code}"),
    ]
    width = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a:<{width}}  {b}")
    for e in errors[:20]:
        print(f"MISMATCH: {e}")
    return 1 if errors or code != 0 else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50, help="moves per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--settle", type=float, default=15, help="how long the page may take to converge"
    )
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--telemetry-db", type=Path)
    args = parser.parse_args(argv)
    if not (0 < args.rate <= 500 and 0 < args.seconds <= 120 and args.tasks >= 10):
        parser.error("0 < --rate <= 500, 0 < --seconds <= 120, --tasks >= 10")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
