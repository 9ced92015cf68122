"""Real telemetry files for tests, in either schema (CONTRACT section 7)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

SPEC_DDL = """
CREATE TABLE invocations (id INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, tool TEXT NOT NULL,
  model TEXT NOT NULL, tokens INTEGER, cost REAL, latency_ms INTEGER, status TEXT);
CREATE TABLE daily_costs (date TEXT PRIMARY KEY, total_cost REAL, total_tokens INTEGER,
  invocation_count INTEGER);
"""
LLM_DDL = """
CREATE TABLE invocations (id INTEGER PRIMARY KEY AUTOINCREMENT, invocation_id TEXT UNIQUE NOT NULL,
  timestamp TEXT NOT NULL, agent_name TEXT NOT NULL, tool_name TEXT NOT NULL,
  model_name TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER,
  total_tokens INTEGER, cost_usd REAL, latency_ms INTEGER, status TEXT NOT NULL,
  error_message TEXT, privacy_level TEXT, extra_column TEXT);
CREATE TABLE daily_costs (date TEXT NOT NULL, agent_name TEXT NOT NULL, tool_name TEXT NOT NULL,
  model_name TEXT NOT NULL, invocations INTEGER, total_tokens INTEGER, total_cost_usd REAL,
  PRIMARY KEY (date, agent_name, tool_name, model_name));
"""


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
