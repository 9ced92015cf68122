"""Real telemetry files for tests, in either schema (CONTRACT section 7)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from telemetry.schema import LLM_DDL as BASE_LLM_DDL
from telemetry.schema import SPEC_DDL

# An extra column, as real files may have: it must be ignored.
LLM_DDL = BASE_LLM_DDL.replace("privacy_level TEXT);", "privacy_level TEXT, extra_column TEXT);")
assert "extra_column" in LLM_DDL


def row(
    timestamp: str,
    cost: float | None = 0.01,
    *,
    model: str = "gpt-4o",
    tool: str = "cli",
    agent: str = "backend-dev",
    tokens: int | None = 100,
    latency: int | None = 200,
    status: str = "success",
) -> dict:
    return {
        "timestamp": timestamp,
        "cost": cost,
        "model": model,
        "tool": tool,
        "agent": agent,
        "tokens": tokens,
        "latency": latency,
        "status": status,
    }


def create(path: Path, schema: str = "spec", rows: list[dict] = (), *, wal: bool = False) -> Path:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SPEC_DDL if schema == "spec" else LLM_DDL)
    conn.commit()
    conn.close()
    insert(path, schema, rows)
    return path


def insert(path: Path, schema: str, rows: list[dict]) -> None:
    """What a writer process does: one committed transaction."""
    conn = sqlite3.connect(path)
    with conn:
        for r in rows:
            if schema == "spec":
                conn.execute(
                    "INSERT INTO invocations (timestamp, tool, model, tokens, cost, latency_ms,"
                    " status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        r["timestamp"],
                        r["tool"],
                        r["model"],
                        r["tokens"],
                        r["cost"],
                        r["latency"],
                        r["status"],
                    ),
                )
            else:
                conn.execute(
                    "INSERT INTO invocations (invocation_id, timestamp, agent_name, tool_name,"
                    " model_name, prompt_tokens, completion_tokens, total_tokens, cost_usd,"
                    " latency_ms, status, error_message, privacy_level)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        uuid.uuid4().hex,
                        r["timestamp"],
                        r["agent"],
                        r["tool"],
                        r["model"],
                        None,
                        None,
                        r["tokens"],
                        r["cost"],
                        r["latency"],
                        r["status"],
                        None if r["status"] == "success" else "boom",
                        "internal",
                    ),
                )
    conn.close()
