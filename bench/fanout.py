"""Many viewers: how long a file move takes to reach every open page, and how many never do.

    .venv/bin/python bench/fanout.py                          # 200 viewers, 1,000 tasks
    .venv/bin/python bench/fanout.py --viewers 1000
    .venv/bin/python bench/fanout.py --viewers 2000 --workers 4   # watcher + 4 web workers
    .venv/bin/python bench/fanout.py --viewers 1000 --moves 0 --idle 90   # idle CPU only

Against a real `manage.py rundashboard` on a free loopback port, over a generated board
(`gen_tasks.py`): opens `--viewers` WebSocket viewers (`wsclient.py`, Origin set, no `?v`, so
each first gets the full state), then renames `--moves` files from `assigned/<agent>/` to
`done/<agent>/` at `--rate` a second. Each moved file was given a `completed_at` beforehand, so
its card goes on top of its Done group and is shown (a card beyond the group's visible limit
is never sent, by design). Each viewer records when a message first names a moved card's new
path (`data-path="done/..."`). Prints p50/p95/max from the rename to the card arriving, over
every (viewer, move) pair, and how many of those pairs never arrived within `--settle` seconds
of the last move; also full-state messages received after the first (a viewer that fell behind
and was resynced), the largest message, closes, the server's RSS, and the CPU the servers and
the client used during the moves.

The client runs in `--client-procs` processes of its own, on the same cores as the servers:
its CPU is printed so a reader can tell when the machine, not the server, is the limit.

With `--workers N` it starts a `redis-server` on a free port, one `--role watcher` on the
files and N `--role web` processes (given a collab dir that does not exist), and spreads the
viewers over the web workers round-robin. `--idle S` measures, before any move, the CPU the
dashboard's processes (and Redis) use over S seconds with every viewer connected and idle
(daphne pings each socket every 300 s; TCP keepalive finds dead peers).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Dashboard, Redis, cpu_seconds, percentile, rss_mb, wait_for_tasks  # noqa: E402
from gen_tasks import generate  # noqa: E402
from wsclient import Viewer, open_viewer  # noqa: E402


def movable(collab: Path, count: int) -> list[tuple[Path, Path]]:
    pairs = []
    for agent_dir in sorted((collab / "assigned").iterdir()):
        for f in sorted(agent_dir.iterdir()):
            if f.is_file() and f.suffix in (".yaml", ".yml"):
                pairs.append((f, collab / "done" / agent_dir.name / f.name))
    pairs.sort(key=lambda p: (zlib.crc32(p[0].name.encode()), p[0].name))
    if len(pairs) < count:
        raise SystemExit(f"only {len(pairs)} movable files, {count} wanted")
    # As an agent finishing a task does: it says when. Each moved card is then the newest of
    # its Done group and goes on top (the generated tasks have no `completed_at`); a card
    # landing beyond the group's visible limit would never be sent, by design.
    done_at = time.time()
    for i, (src, _) in enumerate(pairs[:count]):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(done_at + i))
        with src.open("a", encoding="utf-8") as f:
            f.write(f"completed_at: '{stamp}'\n")
    return pairs[:count]


def client_process(
    conn: Any, servers: list[tuple[str, int, str]], count: int, offset: int, targets: list[str]
) -> None:
    """One client process: `count` viewers, driven by the parent over `conn`."""
    asyncio.run(_clients(conn, servers, count, offset, {t.encode() for t in targets}))


async def _clients(
    conn: Any, servers: list[tuple[str, int, str]], count: int, offset: int, targets: set[bytes]
) -> None:
    viewers: list[Viewer] = []
    for i in range(count):
        host, port, origin = servers[(offset + i) % len(servers)]
        viewers.append(await open_viewer(host, port, origin, targets))
        if i % 20 == 19:
            await asyncio.sleep(0.05)  # do not make the whole crowd knock at once
    await asyncio.gather(*(v.connected.wait() for v in viewers))
    conn.send("connected")
    loop = asyncio.get_running_loop()
    cpu0 = 0.0
    while True:
        ready = asyncio.Event()
        loop.add_reader(conn.fileno(), ready.set)
        await ready.wait()
        loop.remove_reader(conn.fileno())
        command = conn.recv()
        if command == "moves":
            cpu0 = time.process_time()
        elif command == "progress":
            live = [v for v in viewers if not v.closed]
            conn.send(all(len(v.seen) == len(targets) for v in live))
        elif command == "stop":
            cpu = time.process_time() - cpu0
            stats = [
                (v.seen, v.messages, v.resyncs, v.largest, v.closed, v.received) for v in viewers
            ]
            conn.send((cpu, stats))
            for v in viewers:
                v.close()
            return


def ask_all(conns: list[Any], command: str) -> list[Any]:
    for c in conns:
        c.send(command)
    return [c.recv() for c in conns]


def measure(
    servers: list[Dashboard],
    pids: list[int],
    collab: Path,
    pairs: list[tuple[Path, Path]],
    args: argparse.Namespace,
) -> int:
    targets = [str(dst.relative_to(collab)) for _, dst in pairs]
    addresses = [(d.host, d.port, d.origin) for d in servers]
    ctx = multiprocessing.get_context("fork")
    procs, conns = [], []
    t0 = time.perf_counter()
    per_proc = [args.viewers // args.client_procs + (i < args.viewers % args.client_procs)
                for i in range(args.client_procs)]  # fmt: skip
    offset = 0
    for count in per_proc:
        parent, child = ctx.Pipe()
        p = ctx.Process(target=client_process, args=(child, addresses, count, offset, targets))
        p.start()
        procs.append(p)
        conns.append(parent)
        offset += count
    for c in conns:
        if not c.poll(300):
            raise SystemExit("viewers did not connect within 300 s")
        c.recv()
    print(f"{args.viewers} viewers connected in {time.perf_counter() - t0:.1f} s "
          f"({args.client_procs} client processes)", flush=True)  # fmt: skip
    time.sleep(2)
    rss_before = sum(rss_mb(pid) for pid in pids)
    if args.idle:
        client_pids = [p.pid for p in procs if p.pid is not None]
        cpu0, client0, wall0 = cpu_seconds(pids), cpu_seconds(client_pids), time.perf_counter()
        time.sleep(args.idle)
        wall = time.perf_counter() - wall0
        used = (cpu_seconds(pids) - cpu0) / wall * 100
        client = (cpu_seconds(client_pids) - client0) / wall * 100
        print(f"idle CPU                {used:.2f} % of one core over {args.idle:.0f} s "
              f"({len(pids)} processes, {args.viewers} idle viewers; client {client:.2f} %)",
              flush=True)  # fmt: skip
    moved_at: dict[str, float] = {}
    writer_late = settled = 0.0
    cpu_moves0 = cpu_seconds(pids)
    for c in conns:
        c.send("moves")
    interval = 1 / args.rate
    start = time.perf_counter()
    for i, (src, dst) in enumerate(pairs):
        delay = start + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        dst.parent.mkdir(parents=True, exist_ok=True)
        moved_at[str(dst.relative_to(collab))] = time.time()
        src.rename(dst)
    if pairs:
        writer_late = time.perf_counter() - (start + (len(pairs) - 1) * interval)
        deadline = time.perf_counter() + args.settle
        while time.perf_counter() < deadline and not all(ask_all(conns, "progress")):
            time.sleep(0.1)
        settled = time.perf_counter() - (start + (len(pairs) - 1) * interval)
    moves_wall = time.perf_counter() - start
    rss_after = sum(rss_mb(pid) for pid in pids)
    cpu_moves = cpu_seconds(pids) - cpu_moves0
    results = ask_all(conns, "stop")
    for p in procs:
        p.join(10)
    if not pairs:
        return 0
    client_cpu = sum(cpu for cpu, _ in results)
    viewers = [v for _, vs in results for v in vs]

    latencies = [
        (seen[p.encode()] - t) * 1000
        for seen, *_ in viewers
        for p, t in moved_at.items()
        if p.encode() in seen
    ]
    expected = len(viewers) * len(moved_at)
    missing = expected - len(latencies)
    missing_viewers = sum(1 for seen, *_ in viewers if len(seen) < len(moved_at))
    closed = [v[4] for v in viewers if v[4]]
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
    print(f"messages per viewer     {sum(v[1] for v in viewers) / len(viewers):.1f}")
    received = sum(v[5] for v in viewers) / len(viewers) / 1000
    print(f"bytes per viewer        {received:.0f} kB after the first message")
    print(f"full-state resyncs      {sum(v[2] for v in viewers)}")
    print(f"largest message         {max(v[3] for v in viewers)} bytes")
    print(f"connections closed      {len(closed)}{(': ' + closed[0]) if closed else ''}")
    print(f"server RSS              {rss_before:.0f} -> {rss_after:.0f} MB")
    print(f"server CPU, moves       {cpu_moves:.1f} s over {moves_wall:.1f} s "
          f"({len(pids)} processes)")  # fmt: skip
    print(f"client CPU, moves       {client_cpu:.1f} s over {moves_wall:.1f} s "
          f"({args.client_procs} processes)")  # fmt: skip
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
    parser.add_argument("--client-procs", type=int, default=1, help="processes the viewers use")
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
            measure(servers, pids, collab, pairs, args)
        finally:
            for dash in reversed(started):
                code, took = dash.stop()
                print(f"server stop ({dash.role:7})   exit {code} in {took:.2f} s")
            if redis is not None:
                redis.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
