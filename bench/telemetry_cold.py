"""The first aggregation against plain SQL, and how fast UPDATEs and DELETEs show.

    python bench/telemetry_gen.py --schema llm --rows 1000000 --out bench/out/llm-1m.db
    python bench/telemetry_cold.py bench/out/llm-1m.db [--repeat 5] [--changes 10] [--tz ZONE]

1. "raw SQL": the least SQLite must do for the same figures, read straight into Python: one
   GROUP BY over model, tool, agent and status (every per-model/agent/tool/status table comes
   from it), one GROUP BY over the UTC day (right in UTC only), one GROUP BY over latency (the
   histogram p95 needs). "cold": what the dashboard does, zone-exact, every odd value checked,
   /api/stats figures ready (Aggregates + base_stats), with the second connection the service
   uses. Runs alternate; medians and ratios are printed, in CPU seconds of this process (all
   threads; the machine may be shared) and wall seconds.
2. A copy of the file is watched by the service as the dashboard does; a second process then
   UPDATEs one old row (model and tokens; count and total cost unchanged) or DELETEs one, and
   we time until get_stats() shows it. p50/p95 over --changes trials of each.

The database is only read for 1; 2 works on a copy (bench/out/... .copy.db) it then removes.
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import sqlite3
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telemetry import sqlite as ro  # noqa: E402
from telemetry.aggregate import Aggregates, base_stats  # noqa: E402
from telemetry.schema import read_schema  # noqa: E402
from telemetry.service import TelemetryService, aggregate, zone  # noqa: E402


def raw_sql(path: Path) -> None:
    conn = sqlite3.connect(ro.readonly_uri(path), uri=True)
    schema = read_schema(conn)
    assert schema is not None
    e = schema.expr
    cost = f"CASE WHEN {e('cost')} > 0 THEN {e('cost')} ELSE 0 END"
    conn.execute(
        f"SELECT {e('model')}, {e('tool')}, {e('agent')}, {e('status')}, count(*),"
        f" sum({e('tokens')}), total({cost}), total({e('latency')}), count({e('latency')})"
        " FROM invocations GROUP BY 1, 2, 3, 4"
    ).fetchall()
    conn.execute(
        f"SELECT substr({e('timestamp')}, 1, 10), count(*), sum({e('tokens')}), total({cost})"
        " FROM invocations GROUP BY 1"
    ).fetchall()
    conn.execute(
        f"SELECT {e('latency')}, count(*) FROM invocations WHERE {e('latency')} >= 0 GROUP BY 1"
    ).fetchall()
    conn.close()


def cold(path: Path, tz: str) -> dict:
    """As the service's first aggregation: two connections (time buckets on the second)."""
    conn, helper = ro.open_for_sums(path), ro.open_for_sums(path)
    try:
        schema = read_schema(conn)
        assert schema is not None
        agg = Aggregates(zone(tz))
        aggregate(conn, schema, agg, helper)
        return base_stats(agg)
    finally:
        conn.close()
        helper.close()


def measure(fn, *args) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    cpu, wall = time.process_time(), time.perf_counter()
    fn(*args)
    return time.process_time() - cpu, time.perf_counter() - wall


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


UPDATE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
with conn:
    conn.execute(sys.argv[2], tuple(sys.argv[3:]))
"""


def changes(path: Path, tz: str, trials: int) -> None:
    copy = path.with_suffix(".copy.db")
    shutil.copyfile(path, copy)
    try:
        svc = TelemetryService()
        svc.configure(copy, tz, background=False)
        changed = threading.Event()
        svc.start_watching(changed.set)
        conn = sqlite3.connect(copy)
        columns = {r[1] for r in conn.execute("PRAGMA table_info(invocations)")}
        model, tokens = (
            ("model_name", "total_tokens")
            if "model_name" in columns
            else (
                "model",
                "tokens",
            )
        )
        (max_id,) = conn.execute("SELECT max(rowid) FROM invocations").fetchone()
        conn.close()
        rng = random.Random(3)
        results: dict[str, list[float]] = {"UPDATE": [], "DELETE": []}
        time.sleep(1.5)  # let the first re-aggregation pass
        for i in range(trials):
            for kind in ("UPDATE", "DELETE"):
                rowid = rng.randint(1, max_id // 2)
                before = svc.get_stats()
                name = f"renamed-{kind}-{i}"
                if kind == "UPDATE":
                    sql = (
                        f"UPDATE invocations SET {model} = ?, {tokens} = {tokens} + 1"
                        " WHERE rowid = ?"
                    )
                    args = [name, str(rowid)]

                    def seen(s: dict, name: str = name) -> bool:
                        return any(m["model"] == name for m in s["models"])
                else:
                    sql = "DELETE FROM invocations WHERE rowid = ?"
                    args = [str(rowid)]
                    n = before["invocations"]

                    def seen(s: dict, n: int = n) -> bool:
                        return s["invocations"] < n

                conn = sqlite3.connect(copy)
                with conn:
                    conn.execute(sql, args)
                conn.close()
                started = time.perf_counter()
                deadline = started + 30
                while not seen(svc.get_stats()) and time.perf_counter() < deadline:
                    time.sleep(0.01)
                took = time.perf_counter() - started
                results[kind].append(took)
                time.sleep(rng.uniform(0.0, 1.0))  # commits land at any point of a cycle
        svc.stop()
        print(f"re-aggregation in the background took {svc.last_verify_s or 0:.2f} s (last one)")
        for kind, samples in results.items():
            print(
                f"{kind:<7} of one old row shown after: p50 {pct(samples, 0.5):.2f} s,"
                f" p95 {pct(samples, 0.95):.2f} s, max {max(samples):.2f} s"
                f" ({len(samples)} trials)"
            )
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(copy) + suffix).unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--tz", default="UTC")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--changes", type=int, default=10, help="trials of UPDATE and DELETE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    base = cold(args.db, args.tz)
    print(
        f"{args.db}: {base['invocations']:,} invocations, total ${base['cost_total']:.2f},"
        f" zone {args.tz}"
    )
    raw_cpu, raw_wall, cold_cpu, cold_wall = [], [], [], []
    for _ in range(args.repeat):
        c, w = measure(raw_sql, args.db)
        raw_cpu.append(c)
        raw_wall.append(w)
        c, w = measure(cold, args.db, args.tz)
        cold_cpu.append(c)
        cold_wall.append(w)
    med = statistics.median
    print(f"{'':<24}{'CPU s (median)':>16}{'wall s (median)':>17}")
    print(f"{'raw SQL aggregates':<24}{med(raw_cpu):>16.3f}{med(raw_wall):>17.3f}")
    print(f"{'cold aggregation':<24}{med(cold_cpu):>16.3f}{med(cold_wall):>17.3f}")
    print(
        f"{'ratio cold / raw':<24}{med(cold_cpu) / med(raw_cpu):>16.2f}"
        f"{med(cold_wall) / med(raw_wall):>17.2f}   ({args.repeat} alternating runs)"
    )
    if args.changes:
        changes(args.db, args.tz, args.changes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
