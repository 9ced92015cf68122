"""Write an N-row telemetry database in either schema, for benchmarks and demos.

    python bench/telemetry_gen.py --schema llm --rows 1000000 --out bench/out/telemetry.db

Rows spread over the last --days days up to now, in a mix of the timestamp shapes seen in the
wild (mostly one shape per writer, as real files are), with a few NULL and negative costs.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from telemetry.schema import LLM_DDL, SPEC_DDL  # noqa: E402

MODELS = ["claude-3-5-sonnet", "gpt-4o", "gpt-4o-mini", "claude-3-haiku", "llama-3-70b"]
TOOLS = ["claude-code", "copilot", "cursor", "aider"]
AGENTS = ["backend-dev", "frontend", "architect", "writer", "reviewer", "analyst"]
SHAPES = [
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%f"),
    lambda d: d.strftime("%Y-%m-%d %H:%M:%S"),
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"),
    lambda d: d.astimezone(timezone(timedelta(hours=2))).isoformat(),
]


def rows(schema: str, n: int, days: int, rng: random.Random):
    now = datetime.now(timezone.utc)
    span = days * 86400
    for i in range(n):
        moment = now - timedelta(seconds=span * (n - i) / n)
        shape = SHAPES[0] if rng.random() < 0.85 else rng.choice(SHAPES)
        ts = shape(moment)
        model = rng.choice(MODELS)
        tool = rng.choice(TOOLS)
        tokens = rng.randint(100, 8000)
        r = rng.random()
        cost = None if r < 0.005 else (-0.01 if r < 0.006 else round(tokens * 0.000004, 6))
        latency = int(rng.lognormvariate(6.5, 0.6))
        status = "success" if rng.random() < 0.95 else "error"
        if schema == "spec":
            yield (ts, tool, model, tokens, cost, latency, status)
        else:
            prompt = tokens * 2 // 3
            yield (
                uuid.UUID(int=rng.getrandbits(128)).hex,
                ts,
                rng.choice(AGENTS),
                tool,
                model,
                prompt,
                tokens - prompt,
                tokens,
                cost,
                latency,
                status,
                None if status == "success" else "rate limited",
                "internal",
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", choices=["spec", "llm"], default="spec")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.out.exists():
        args.out.unlink()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    conn = sqlite3.connect(args.out)
    conn.executescript(SPEC_DDL if args.schema == "spec" else LLM_DDL)
    if args.schema == "spec":
        sql = (
            "INSERT INTO invocations (timestamp, tool, model, tokens, cost, latency_ms, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
    else:
        sql = (
            "INSERT INTO invocations (invocation_id, timestamp, agent_name, tool_name,"
            " model_name, prompt_tokens, completion_tokens, total_tokens, cost_usd, latency_ms,"
            " status, error_message, privacy_level) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
        )
    with conn:
        conn.executemany(sql, rows(args.schema, args.rows, args.days, random.Random(args.seed)))
    conn.close()
    print(
        f"wrote {args.rows} {args.schema} rows to {args.out} "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
