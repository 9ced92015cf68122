"""Many viewers: how long a file move takes to reach every open page, and how many never do.

    .venv/bin/python bench/fanout.py                          # 200 viewers, 1,000 tasks
    .venv/bin/python bench/fanout.py --viewers 50 --moves 50 --rate 20
    .venv/bin/python bench/fanout.py --viewers 2000 --workers 4   # watcher + 4 web workers
    .venv/bin/python bench/fanout.py --viewers 1000 --moves 0 --idle 30   # idle CPU only

Against a real `manage.py rundashboard` on a free loopback port, over a generated board
(`gen_tasks.py`): opens `--viewers` WebSocket clients (the `websockets` library, Origin set, no
`?v`, so each first gets the full state), then renames `--moves` files from `assigned/<agent>/`
to `done/<agent>/` at `--rate` a second. Each viewer records when a message first names a moved
card's new path (`data-path="done/..."`). Prints p50/p95/max from the rename to the card
arriving, over every (viewer, move) pair, and how many of those pairs never arrived within
`--settle` seconds of the last move; also full-state messages received after the start (a
viewer that fell behind and was resynced), the largest message, closes, and the server's RSS.

With `--workers N` it starts a `redis-server` on a free port, one `--role watcher` on the
files and N `--role web` processes (given a collab dir that does not exist), and spreads the
viewers over the web workers round-robin. `--idle S` measures, before any move, the CPU the
dashboard's processes (and Redis) use over S seconds with every viewer connected and idle.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Dashboard, Redis, cpu_seconds, percentile, rss_mb, wait_for_tasks  # noqa: E402
from gen_tasks import generate  # noqa: E402

DATA_PATH = re.compile(r'data-path="([^"]+)"')


def movable(collab: Path, count: int) -> list[tuple[Path, Path]]:
    pairs = []
    for agent_dir in sorted((collab / "assigned").iterdir()):
        for f in sorted(agent_dir.iterdir()):
            if f.is_file() and f.suffix in (".yaml", ".yml"):
                pairs.append((f, collab / "done" / agent_dir.name / f.name))
    pairs.sort(key=lambda p: (zlib.crc32(p[0].name.encode()), p[0].name))
    if len(pairs) < count:
        raise SystemExit(f"only {len(pairs)} movable files, {count} wanted")
    return pairs[:count]


class Viewer:
    def __init__(self, targets: set[str]) -> None:
        self.targets = targets
        self.seen: dict[str, float] = {}
        self.messages = 0
        self.resyncs = 0
        self.largest = 0
        self.closed: str = ""
        self.connected = asyncio.Event()

    async def run(self, url: str, origin: str, stop: asyncio.Event) -> None:
        import websockets

        try:
            async with websockets.connect(
                url, origin=origin, max_size=None, open_timeout=60, ping_interval=None
            ) as ws:
                first = await ws.recv()
                self.largest = len(first)
                self.connected.set()
                # No timeout per receive: 1,000 viewers polling twice a second cost the
                # client (sharing the server's cores) a visible share of the CPU.
                reader = asyncio.ensure_future(self._read(ws))
                await stop.wait()
                reader.cancel()
        except Exception as exc:  # a close or a refused connection is a finding, not a crash
            self.closed = f"{type(exc).__name__}: {exc}"[:200]
            self.connected.set()

    async def _read(self, ws: Any) -> None:
        try:
            async for msg in ws:
                now = time.time()
                text = msg if isinstance(msg, str) else msg.decode()
                self.messages += 1
                self.largest = max(self.largest, len(text))
                if 'id="board"' in text:
                    self.resyncs += 1
                for path in DATA_PATH.findall(text):
                    if path in self.targets and path not in self.seen:
                        self.seen[path] = now
        except Exception as exc:
            self.closed = f"{type(exc).__name__}: {exc}"[:200]


async def measure(
    servers: list[Dashboard],
    pids: list[int],
    collab: Path,
    pairs: list[tuple[Path, Path]],
    args: argparse.Namespace,
) -> int:
    targets = {str(dst.relative_to(collab)) for _, dst in pairs}
    viewers = [Viewer(targets) for _ in range(args.viewers)]
    stop = asyncio.Event()
    tasks = []
    t0 = time.perf_counter()
    for i, v in enumerate(viewers):
        dash = servers[i % len(servers)]
        url = f"ws://{dash.host}:{dash.port}/dashboard"
        tasks.append(asyncio.create_task(v.run(url, dash.origin, stop)))
        if i % 20 == 19:
            await asyncio.sleep(0.05)  # do not make the whole crowd knock at once
    await asyncio.wait_for(asyncio.gather(*(v.connected.wait() for v in viewers)), 300)
    print(f"{args.viewers} viewers connected in {time.perf_counter() - t0:.1f} s", flush=True)
    await asyncio.sleep(2)
    rss_before = sum(rss_mb(pid) for pid in pids)
    if args.idle:
        cpu0, wall0 = cpu_seconds(pids), time.perf_counter()
        await asyncio.sleep(args.idle)
        used = (cpu_seconds(pids) - cpu0) / (time.perf_counter() - wall0) * 100
        print(f"idle CPU                {used:.2f} % of one core over {args.idle:.0f} s "
              f"({len(pids)} processes, {args.viewers} idle viewers)", flush=True)  # fmt: skip
    if not pairs:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return 0
    cpu_moves0 = cpu_seconds(pids)

    moved_at: dict[str, float] = {}
    interval = 1 / args.rate
    start = time.perf_counter()
    for i, (src, dst) in enumerate(pairs):
        delay = start + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        dst.parent.mkdir(parents=True, exist_ok=True)
        moved_at[str(dst.relative_to(collab))] = time.time()
        src.rename(dst)
    writer_late = time.perf_counter() - (start + (len(pairs) - 1) * interval)
    deadline = time.perf_counter() + args.settle
    while time.perf_counter() < deadline:
        if all(len(v.seen) == len(targets) for v in viewers if not v.closed):
            break
        await asyncio.sleep(0.1)
    settled = time.perf_counter() - (start + (len(pairs) - 1) * interval)
    rss_after = sum(rss_mb(pid) for pid in pids)
    cpu_moves = cpu_seconds(pids) - cpu_moves0
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    latencies = [
        (v.seen[p] - t) * 1000 for v in viewers for p, t in moved_at.items() if p in v.seen
    ]
    expected = len(viewers) * len(moved_at)
    missing = expected - len(latencies)
    missing_viewers = sum(1 for v in viewers if len(v.seen) < len(targets))
    closed = [v.closed for v in viewers if v.closed]
    print()
    print(f"viewers                 {len(viewers)}")
    late = f"writer late {writer_late:.2f} s"
    print(f"moves                   {len(moved_at)} at {args.rate}/s ({late})")
    print(f"deliveries expected     {expected}")
    print(f"deliveries missing      {missing} (viewers missing any: {missing_viewers})")
    print(f"move -> card p50        {percentile(latencies, 0.5):.0f} ms")
    print(f"move -> card p95        {percentile(latencies, 0.95):.0f} ms")
    print(f"move -> card max        {max(latencies, default=float('nan')):.0f} ms")
    print(f"settled after last move {settled:.1f} s")
    print(f"messages per viewer     {sum(v.messages for v in viewers) / len(viewers):.1f}")
    print(f"full-state resyncs      {sum(v.resyncs for v in viewers)}")
    print(f"largest message         {max(v.largest for v in viewers)} chars")
    print(f"connections closed      {len(closed)}{(': ' + closed[0]) if closed else ''}")
    print(f"server RSS              {rss_before:.0f} -> {rss_after:.0f} MB")
    print(f"server CPU, moves       {cpu_moves:.1f} s ({len(pids)} processes)")
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--moves", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="moves a second")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait at the end")
    parser.add_argument("--workers", type=int, default=0, help="web workers behind one watcher")
    parser.add_argument("--idle", type=float, default=0, help="seconds of idle CPU to measure")
    parser.add_argument("--log", type=Path, default=None, help="write the servers' output here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        collab = Path(tmp) / "collab"
        generate(collab, args.tasks)
        db = Path(tmp) / "missing-telemetry.db"
        started: list[Dashboard] = []
        redis: Redis | None = None
        try:
            if args.workers:
                redis = Redis(Path(tmp))
                env = {"DASHBOARD_REDIS_URL": redis.url}
                watcher = Dashboard(collab, db, args.log, role="watcher", env=env).start()
                started.append(watcher)
                wait_for_tasks(watcher, args.tasks, all_read=True)
                absent = Path(tmp) / "not-here"
                servers = []
                for _ in range(args.workers):
                    web = Dashboard(absent, db, args.log, role="web", env=env).start()
                    started.append(web)
                    servers.append(web)
                for web in servers:
                    wait_for_tasks(web, args.tasks)
                pids = [d.pid for d in started] + [redis.pid]
                layout = f"1 watcher + {args.workers} web workers + redis"
            else:
                dash = Dashboard(collab, db, log_path=args.log).start()
                started.append(dash)
                wait_for_tasks(dash, args.tasks, all_read=True)
                servers, pids, layout = [dash], [dash.pid], "one process (--role all)"
            print(f"servers                 {layout}", flush=True)
            pairs = movable(collab, args.moves) if args.moves else []
            asyncio.run(measure(servers, pids, collab, pairs, args))
        finally:
            for dash in reversed(started):
                code, took = dash.stop()
                print(f"server stop ({dash.role:7})   exit {code} in {took:.2f} s")
            if redis is not None:
                redis.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
