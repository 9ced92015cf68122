"""Many viewers: how long a file move takes to reach every open page, and how many never do.

    .venv/bin/python bench/fanout.py                          # 200 viewers, 1,000 tasks
    .venv/bin/python bench/fanout.py --viewers 50 --moves 50 --rate 20

Against a real `manage.py rundashboard` on a free loopback port, over a generated board
(`gen_tasks.py`): opens `--viewers` WebSocket clients (the `websockets` library, Origin set, no
`?v`, so each first gets the full state), then renames `--moves` files from `assigned/<agent>/`
to `done/<agent>/` at `--rate` a second. Each viewer records when a message first names a moved
card's new path (`data-path="done/..."`). Prints p50/p95/max from the rename to the card
arriving, over every (viewer, move) pair, and how many of those pairs never arrived within
`--settle` seconds of the last move; also full-state messages received after the start (a
viewer that fell behind and was resynced), the largest message, closes, and the server's RSS.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Dashboard, percentile, rss_mb, wait_for_tasks  # noqa: E402
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
                while not stop.is_set():
                    try:
                        msg = await asyncio.wait_for(ws.recv(), 0.5)
                    except asyncio.TimeoutError:
                        continue
                    now = time.time()
                    text = msg if isinstance(msg, str) else msg.decode()
                    self.messages += 1
                    self.largest = max(self.largest, len(text))
                    if 'id="board"' in text:
                        self.resyncs += 1
                    for path in DATA_PATH.findall(text):
                        if path in self.targets and path not in self.seen:
                            self.seen[path] = now
        except Exception as exc:  # a close or a refused connection is a finding, not a crash
            self.closed = f"{type(exc).__name__}: {exc}"[:200]
            self.connected.set()


async def measure(dash: Dashboard, pairs: list[tuple[Path, Path]], args: argparse.Namespace):
    collab = dash.collab
    targets = {str(dst.relative_to(collab)) for _, dst in pairs}
    viewers = [Viewer(targets) for _ in range(args.viewers)]
    stop = asyncio.Event()
    url = f"ws://{dash.host}:{dash.port}/dashboard"
    tasks = []
    t0 = time.perf_counter()
    for i, v in enumerate(viewers):
        tasks.append(asyncio.create_task(v.run(url, dash.origin, stop)))
        if i % 20 == 19:
            await asyncio.sleep(0.05)  # do not make the whole crowd knock at once
    await asyncio.wait_for(asyncio.gather(*(v.connected.wait() for v in viewers)), 120)
    print(f"{args.viewers} viewers connected in {time.perf_counter() - t0:.1f} s", flush=True)
    await asyncio.sleep(1)
    rss_before = rss_mb(dash.pid)

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
    rss_after = rss_mb(dash.pid)
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
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--moves", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="moves a second")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait at the end")
    parser.add_argument("--log", type=Path, default=None, help="write the server's output here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        collab = Path(tmp) / "collab"
        generate(collab, args.tasks)
        dash = Dashboard(collab, Path(tmp) / "missing-telemetry.db", log_path=args.log).start()
        try:
            wait_for_tasks(dash, args.tasks, all_read=True)
            pairs = movable(collab, args.moves)
            asyncio.run(measure(dash, pairs, args))
        finally:
            code, took = dash.stop()
            print(f"server stop             exit {code} in {took:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
