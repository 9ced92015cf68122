"""Time the telemetry figures against a (large) telemetry database, in-process.

    python bench/telemetry_gen.py --schema llm --rows 1000000 --out bench/out/llm-1m.db
    python bench/telemetry_stats.py bench/out/llm-1m.db [--repeat 200] [--admin]

Prints the first (background) aggregation time, then median and p95 for GET /api/stats, the
rendered figures and charts fragments, one new row picked up incrementally, and with --admin the
drill-down's list pages (those query SQLite, so they scale with the file).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")


def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--tz", default="UTC")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--admin", action="store_true", help="also time /telemetry/ list pages")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.test import Client

    from telemetry import db, service

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("kanban.")]
    settings.ROOT_URLCONF = "tests.telemetry.urls"

    started = time.perf_counter()
    db.configure(args.db, args.tz)
    returned = time.perf_counter() - started
    service.service.wait_loaded()
    loaded = time.perf_counter() - started
    stats = service.get_stats()
    print(
        f"{args.db}: {stats['invocations']:,} invocations, schema {stats['schema']}, "
        f"total ${stats['cost']['total']:.2f}"
    )
    print(f"configure() returned in {returned * 1000:.1f} ms; first aggregation {loaded:.2f} s")

    client = Client()
    assert client.get("/api/stats").status_code == 200
    rows = [
        ("GET /api/stats", lambda: client.get("/api/stats")),
        ("get_stats()", service.get_stats),
        (
            "render figures",
            lambda: render_to_string(
                "telemetry/fragments.html#figures", {"stats": service.get_stats(), "oob": True}
            ),
        ),
        (
            "render charts",
            lambda: render_to_string(
                "telemetry/fragments.html#charts", {"stats": service.get_stats(), "oob": True}
            ),
        ),
    ]
    print(f"{'what':<28}{'median ms':>10}{'p95 ms':>10}")
    for name, fn in rows:
        median, p95 = timed(fn, args.repeat)
        print(f"{name:<28}{median:>10.2f}{p95:>10.2f}")

    # One writer commit, then how long until the figures include it.
    conn = sqlite3.connect(args.db)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(invocations)")}
    now = datetime.now(timezone.utc).isoformat()
    with conn:
        if "cost_usd" in columns:
            conn.execute(
                "INSERT INTO invocations (invocation_id, timestamp, agent_name, tool_name,"
                " model_name, total_tokens, cost_usd, latency_ms, status)"
                " VALUES (hex(randomblob(16)), ?, 'bench', 'bench', 'bench', 1, 0.01, 1,"
                " 'success')",
                (now,),
            )
        else:
            conn.execute(
                "INSERT INTO invocations (timestamp, tool, model, tokens, cost, latency_ms,"
                " status) VALUES (?, 'bench', 'bench', 1, 0.01, 1, 'success')",
                (now,),
            )
    conn.close()
    started = time.perf_counter()
    changed = service.poll()
    print(
        f"{'poll() after 1 new row':<28}{(time.perf_counter() - started) * 1000:>10.2f}"
        f"{'':>10}  changed={changed}"
    )
    median, p95 = timed(service.poll, 50)
    print(f"{'poll() with no change':<28}{median:>10.2f}{p95:>10.2f}")

    if args.admin:
        from django.test.utils import setup_test_environment  # noqa: F401

        day = stats["daily"][-2]["date"]
        y, m, d = (int(x) for x in day.split("-"))
        for name, url in [
            ("admin list, page 1", "/telemetry/telemetry/invocation/"),
            (
                "admin list, one day",
                f"/telemetry/telemetry/invocation/?timestamp__year={y}"
                f"&timestamp__month={m}&timestamp__day={d}",
            ),
            ("admin list, one model", "/telemetry/telemetry/invocation/?model=gpt-4o"),
            ("admin detail", "/telemetry/telemetry/invocation/1/change/"),
            ("admin per-model summary", "/telemetry/models/"),
        ]:
            median, p95 = timed(lambda u=url: client.get(u), 3)
            print(f"{name:<28}{median:>10.1f}{p95:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
