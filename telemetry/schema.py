"""Which of the two telemetry schemas a file uses, decided from its columns (CONTRACT section 7).

A `Schema` maps our logical fields to SQL expressions over `invocations`, so the aggregator and
the drill-down's SQL view read both shapes through one mapping. Plain Python, no Django.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

MAX_COST = 1e9  # USD per invocation; beyond it a cost is not real and counts as 0

# The two schemas found in the wild, as their writers create them. We never run these on a
# user's file (it is read-only to us); the demo, the tests and the benchmarks build files with them.
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
  error_message TEXT, privacy_level TEXT);
CREATE TABLE daily_costs (date TEXT NOT NULL, agent_name TEXT NOT NULL, tool_name TEXT NOT NULL,
  model_name TEXT NOT NULL, invocations INTEGER, total_tokens INTEGER, total_cost_usd REAL,
  PRIMARY KEY (date, agent_name, tool_name, model_name));
"""

# Logical field -> candidate column names, first match wins. Extra columns are ignored.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "created_at", "ts"),
    "model": ("model", "model_name"),
    "tool": ("tool", "tool_name"),
    "agent": ("agent_name", "agent"),
    "tokens": ("tokens", "total_tokens"),
    "prompt_tokens": ("prompt_tokens",),
    "completion_tokens": ("completion_tokens",),
    "cost": ("cost", "cost_usd"),
    "latency": ("latency_ms", "latency"),
    "status": ("status",),
    "invocation_id": ("invocation_id",),
    "error_message": ("error_message", "error"),
    "privacy_level": ("privacy_level",),
}
REQUIRED = ("timestamp", "cost")
# The llm-service's own names: when a file has them, they win over look-alikes added later
# (a new `cost` column beside `cost_usd` must not take the figures over).
LLM_MARKERS = frozenset({"cost_usd", "model_name", "tool_name", "agent_name"})
LLM_PREFERRED = {
    "model": "model_name",
    "tool": "tool_name",
    "agent": "agent_name",
    "tokens": "total_tokens",
    "cost": "cost_usd",
}


class SchemaError(Exception):
    """The file is a database, but not one we can read figures from."""


@dataclass(frozen=True)
class Schema:
    kind: str  # "spec" or "llm"
    columns: tuple[str, ...]
    mapping: dict[str, str] = field(default_factory=dict)  # logical field -> column name

    @property
    def has_agent(self) -> bool:
        return "agent" in self.mapping

    def expr(self, name: str) -> str:
        column = self.mapping.get(name)
        return quote(column) if column else "NULL"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def detect(columns: list[str] | tuple[str, ...]) -> Schema:
    by_lower = {c.lower(): c for c in columns}
    llm = LLM_MARKERS & set(by_lower)
    mapping = {}
    for logical, candidates in CANDIDATES.items():
        preferred = LLM_PREFERRED.get(logical)
        if llm and preferred in by_lower:
            candidates = (preferred,)
        for candidate in candidates:
            if candidate in by_lower:
                mapping[logical] = by_lower[candidate]
                break
    missing = [name for name in REQUIRED if name not in mapping]
    if missing:
        raise SchemaError(
            "the invocations table has no "
            + " or ".join(CANDIDATES[m][0] for m in missing)
            + f" column (columns: {', '.join(columns) or 'none'})"
        )
    return Schema(kind="llm" if llm else "spec", columns=tuple(columns), mapping=mapping)


def table_names(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM main.sqlite_master WHERE type IN ('table', 'view')")
    return [r[0] for r in rows]


def _kind_of_invocations(conn: sqlite3.Connection) -> tuple[str, str] | None:
    return conn.execute(
        "SELECT type, sql FROM main.sqlite_master WHERE type IN ('table', 'view')"
        " AND name = 'invocations' COLLATE NOCASE"
    ).fetchone()


def read_schema(conn: sqlite3.Connection) -> Schema | None:
    """The schema of `invocations`, None when the file has no tables at all (a fresh file).

    Raises SchemaError when there are tables but no usable `invocations` table.
    """
    found = _kind_of_invocations(conn)
    if found is not None:
        kind, sql = found
        # We count rows by rowid (new rows are those above the last one read): a view has no
        # rowid and a WITHOUT ROWID table none we can rely on. Say so rather than show 0 rows.
        if kind == "view":
            raise SchemaError("invocations is a view, not a table: point the dashboard at a table")
        if sql and "without rowid" in " ".join(sql.lower().split()):
            raise SchemaError("invocations is a WITHOUT ROWID table; rows cannot be followed")
        columns = [row[1] for row in conn.execute("PRAGMA main.table_info(invocations)")]
        return detect(columns)
    names = table_names(conn)
    if not names:
        return None
    raise SchemaError(f"no invocations table (tables: {', '.join(sorted(names))})")


def select_sql(schema: Schema) -> str:
    """Rows for the aggregator, in `ROW_FIELDS` order; the caller appends WHERE/ORDER."""
    return (
        "SELECT rowid, "
        + ", ".join(schema.expr(name) for name in ROW_FIELDS[1:])
        + " FROM main.invocations"
    )


ROW_FIELDS = ("rowid", "timestamp", "model", "tool", "agent", "status", "tokens", "cost", "latency")


def view_sql(schema: Schema | None, name: str = "tm_invocation") -> str:
    """A TEMP view giving both schemas one shape for the Django model (see telemetry.models).

    TEMP objects live in the connection's own temp database, so this works on a read-only file
    and never touches it. Timestamps become naive UTC text (`YYYY-MM-DD HH:MM:SS.fff`), which
    Django reads as UTC and compares correctly with its own range bounds; SQLite's strftime
    handles most shapes and `tm_utc` (our Python parser) the rest; a moment outside years
    1-9999 in UTC is NULL (Django cannot hold it). Costs: only numbers count; NULL, negative,
    text, BLOB and absurd (> MAX_COST, infinite) -> 0.
    """
    if schema is None:
        body = (
            "SELECT NULL AS id, NULL AS timestamp, NULL AS raw_timestamp, NULL AS model_name, "
            "NULL AS tool_name, NULL AS agent_name, 0 AS tokens, NULL AS prompt_tokens, "
            "NULL AS completion_tokens, 0.0 AS cost, NULL AS raw_cost, NULL AS latency_ms, "
            "NULL AS status, NULL AS invocation_id, NULL AS error_message, "
            "NULL AS privacy_level WHERE 0"
        )
    else:
        ts = schema.expr("timestamp")
        cost = schema.expr("cost")
        utc = f"COALESCE(strftime('%Y-%m-%d %H:%M:%f', {ts}), tm_utc({ts}))"
        body = (
            "SELECT rowid AS id, "
            f"(SELECT CASE WHEN length(u) = 23 AND u >= '0001-01-01' THEN u END"
            f" FROM (SELECT {utc} AS u)) AS timestamp, "
            f"{ts} AS raw_timestamp, "
            f"{schema.expr('model')} AS model_name, {schema.expr('tool')} AS tool_name, "
            f"{schema.expr('agent')} AS agent_name, "
            f"COALESCE({schema.expr('tokens')}, 0) AS tokens, "
            f"{schema.expr('prompt_tokens')} AS prompt_tokens, "
            f"{schema.expr('completion_tokens')} AS completion_tokens, "
            f"CASE WHEN typeof({cost}) IN ('integer', 'real') AND {cost} > 0"
            f" AND {cost} <= {MAX_COST!r} THEN {cost} ELSE 0.0 END AS cost, "
            f"CASE WHEN typeof({cost}) = 'blob' THEN NULL ELSE {cost} END AS raw_cost, "
            f"{schema.expr('latency')} AS latency_ms, {schema.expr('status')} AS status, "
            f"{schema.expr('invocation_id')} AS invocation_id, "
            f"{schema.expr('error_message')} AS error_message, "
            f"{schema.expr('privacy_level')} AS privacy_level "
            "FROM main.invocations"
        )
    return f"CREATE TEMP VIEW IF NOT EXISTS {name} AS {body}"
