"""Let SQLite do the heavy summing: rows folded into a few thousand groups. Plain Python, no Django.

Why: Python then only folds a few thousand groups into local days, whatever the zone, and the
first aggregation can run on two connections in parallel (SQLite releases the GIL).
Why UPSERTs into TEMP tables: SQLite's GROUP BY sorts every row first, an UPSERT finds its
group in a small b-tree: about 2x cheaper at 1M rows here for the dimensions and
latencies, and still 1.6 to 1.8x for the time buckets (100,000 groups at 1M rows).
TEMP tables live in the connection's own temp database (SQLite's private, already-deleted
temp files: `temp_store = FILE` sums about 30 % faster here than MEMORY, whose page-per-malloc
b-trees and one big in-memory sort are slower); the telemetry file itself is never written
(opened mode=ro, and an authorizer refuses any change outside `temp`).

Three sums per rowid range:
- by time: UTC-exact 15-minute buckets of the text as written (date, hour, quarter, offset),
  or 15-minute buckets of Unix seconds; anything else is kept as its raw value. Every zone
  offset in use today is a multiple of 15 minutes, so each bucket falls in one local day;
  `Aggregates` checks that and asks for the exact timestamps of a bucket when it does not.
  Each bucket is also split by agent (an agent's cost today; when it was last active), and
  counts the rows whose cost is NULL (the "what was counted" note);
- by model, tool, agent and status;
- by latency (the exact histogram p95 needs).
Rows whose cost, tokens or latency are stored as text or BLOB count in the sums with those
values as 0, and are returned whole, for `Aggregates` to judge one by one.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from .schema import MAX_COST, ROW_FIELDS, Schema, select_sql

# Beyond these a value is not a real invocation: it counts as 0 (and is logged), which keeps
# every sum finite (two rows of 1e308 would otherwise sum to infinity). MAX_COST: schema.py.
MAX_TOKENS = 10_000_000_000  # per invocation; also keeps SQLite's integer sum() from overflowing
MAX_LATENCY = 1e12  # ms (30 years)

NULL_KEY = "\x00"  # stands for NULL in group keys: a NULL never matches in a UNIQUE index

TEMP_DDL = """
CREATE TEMP TABLE IF NOT EXISTS tm_by_dims (model, tool, agent, status, n, tokens, cost,
  lat_sum, lat_n, negative, flags, PRIMARY KEY (model, tool, agent, status));
CREATE TEMP TABLE IF NOT EXISTS tm_by_latency (v PRIMARY KEY, n);
CREATE TEMP TABLE IF NOT EXISTS tm_by_time (k, b, c, agent, n, tokens, cost, nulls,
  PRIMARY KEY (k, b, c, agent));
CREATE TEMP TABLE IF NOT EXISTS tm_keys (k TEXT, b INTEGER, c, PRIMARY KEY (k, b, c));
"""
TEMP_TABLES = ("tm_by_dims", "tm_by_latency", "tm_by_time", "tm_keys")

TimeKey = tuple  # (k, b, c): see time_key_sql


@dataclass
class Groups:
    # (k, b, c, agent) -> [n, tokens, cost, rows with a NULL cost]; agent NULL is None
    by_time: dict[tuple, list] = field(default_factory=dict)
    by_dims: dict[tuple, list] = field(default_factory=dict)  # -> [n, tokens, cost, lat_sum,
    #                                                              lat_n, negative, flags]
    by_latency: dict[float, int] = field(default_factory=dict)
    odd_rows: list[tuple] = field(default_factory=list)  # ROW_FIELDS order: see odd_sql
    max_rowid: int = 0


def odd_sql(schema: Schema) -> str:
    """True for rows SQLite cannot sum alone: a cost, tokens or latency stored as text or BLOB.
    (They count as 0 in the sums; Python judges them one by one and adds what they are worth.)"""
    return " OR ".join(
        f"typeof({schema.expr(n)}) IN ('text', 'blob')" for n in ("cost", "tokens", "latency")
    )


def time_key_sql(ts: str) -> tuple[str, str, str]:
    """(k, b, c) for a timestamp expression. This runs per row: a few substr() calls only.

    Text with ':' as 14th character (`YYYY-MM-DD?HH:MM...`): k = its first 14 characters
    (date and hour as written), b = the quarter of the hour, c = the tail after the seconds
    and fraction (the offset). The day of such a row is the day of `k + minutes + c`, so one
    parse per group is exact; a group whose text does not parse is in no day. (As before,
    seconds and fractions are not checked one by one: `10:15:99` counts as 10:15.)
    Numbers (Unix seconds, 1970 to 9999): k = '#' + seconds // 900; other numbers 'n' + the
    number. NULL: k = 'z'. Anything else: k = 'r' + the value as text (a group per value).
    b and c mean nothing outside text keys (but are the same for the same value).
    """
    k = (
        f"CASE WHEN substr({ts}, 14, 1) = ':' THEN substr({ts}, 1, 14)"
        f" WHEN typeof({ts}) IN ('integer', 'real') THEN"
        f" CASE WHEN {ts} >= 0 AND {ts} < 253402300000 THEN '#' || (CAST({ts} AS INTEGER) / 900)"
        f" ELSE 'n' || {ts} END"
        f" WHEN {ts} IS NULL THEN 'z' ELSE 'r' || CAST({ts} AS TEXT) END"
    )
    b = f"ifnull(substr({ts}, 15, 2) / 15, 0)"
    c = f"ifnull(ltrim(substr({ts}, 17), '0123456789:.,'), '')"
    return k, b, c


ODD = 1 << 32  # in `flags`: absurd values count in the low 32 bits, text/BLOB ones above


def _sums(schema: Schema) -> dict[str, str]:
    # Text and BLOB compare greater than any number in SQLite, so each CASE below counts
    # them as 0 (or leaves the latency out); `flags` marks them for Python. Plain comparisons
    # first, typeof() only for the rare values above a limit: this runs per row.
    cost, tokens, lat = schema.expr("cost"), schema.expr("tokens"), schema.expr("latency")

    def flag(test: str, expr: str) -> str:
        return (
            f"CASE WHEN {test} THEN CASE WHEN typeof({expr}) IN ('integer', 'real') THEN 1"
            f" ELSE {ODD} END ELSE 0 END"
        )

    return {
        "cost": f"CASE WHEN {cost} > 0 AND {cost} <= {MAX_COST!r} THEN {cost} ELSE 0.0 END",
        "tokens": (
            f"CASE WHEN {tokens} >= 0 AND {tokens} <= {MAX_TOKENS} THEN CAST({tokens} AS INTEGER)"
            " ELSE 0 END"
        ),
        "latency": (
            f"CASE WHEN {lat} >= 0 AND {lat} <= {MAX_LATENCY!r} THEN CASE WHEN {lat}"
            f" = CAST({lat} AS INTEGER) THEN {lat} ELSE round({lat}, 3) END END"
        ),
        "negative": f"ifnull({cost} < 0, 0)",
        "flags": (
            f"{flag(f'{cost} > {MAX_COST!r}', cost)}"
            f" + {flag(f'{tokens} > {MAX_TOKENS} OR {tokens} < 0', tokens)}"
            f" + {flag(f'{lat} > {MAX_LATENCY!r}', lat)}"
        ),
    }


@dataclass(frozen=True)
class GroupSql:
    by_time: str
    by_dims: str
    by_latency: str
    odd_rows: str
    refine: str


def group_sql(schema: Schema) -> GroupSql:
    """The statements for one schema; each takes (low, high) rowid bounds, low excluded."""
    s = _sums(schema)
    k, b, c = time_key_sql(schema.expr("timestamp"))
    where = "rowid > ? AND rowid <= ?"
    names = ("model", "tool", "agent", "status")
    dims = ", ".join(f"ifnull({schema.expr(name)}, char(0))" for name in names)
    agent = f"ifnull({schema.expr('agent')}, char(0))"
    return GroupSql(
        by_time=(
            f"INSERT INTO temp.tm_by_time SELECT {k}, {b}, {c}, {agent}, 1, {s['tokens']},"
            f" {s['cost']}, {schema.expr('cost')} IS NULL FROM main.invocations WHERE {where}"
            " ON CONFLICT DO UPDATE SET n = n + 1, tokens = tokens + excluded.tokens,"
            " cost = cost + excluded.cost, nulls = nulls + excluded.nulls"
        ),
        by_dims=(
            f"INSERT INTO temp.tm_by_dims SELECT {dims}, 1, {s['tokens']}, {s['cost']},"
            f" ifnull({s['latency']}, 0), {s['latency']} IS NOT NULL, {s['negative']},"
            f" {s['flags']} FROM main.invocations WHERE {where} ON CONFLICT DO UPDATE SET"
            " n = n + 1, tokens = tokens + excluded.tokens, cost = cost + excluded.cost,"
            " lat_sum = lat_sum + excluded.lat_sum, lat_n = lat_n + excluded.lat_n,"
            " negative = negative + excluded.negative, flags = flags + excluded.flags"
        ),
        by_latency=(
            f"INSERT INTO temp.tm_by_latency SELECT v, 1 FROM (SELECT {s['latency']} AS v"
            f" FROM main.invocations WHERE {where}) WHERE v IS NOT NULL"
            " ON CONFLICT DO UPDATE SET n = n + 1"
        ),
        odd_rows=select_sql(schema) + f" WHERE {where} AND ({odd_sql(schema)})",
        # The exact timestamps of the buckets listed in temp.tm_keys, per agent.
        refine=(
            f"SELECT t, a, count(*), sum(tokens), total(cost) FROM (SELECT {k} AS k, {b} AS b,"
            f" {c} AS c, {schema.expr('timestamp')} AS t, {agent} AS a, {s['tokens']} AS tokens,"
            f" {s['cost']} AS cost FROM main.invocations WHERE {where})"
            " JOIN temp.tm_keys USING (k, b, c) GROUP BY t, a"
        ),
    )


def _odd_count(conn: sqlite3.Connection) -> int:
    (flags,) = conn.execute("SELECT total(flags) FROM temp.tm_by_dims").fetchone()
    return int(flags) // ODD


def prepare(conn: sqlite3.Connection) -> None:
    conn.executescript(TEMP_DDL)


def _clear(conn: sqlite3.Connection) -> None:
    for table in TEMP_TABLES:
        conn.execute(f"DELETE FROM temp.{table}")


def read_groups(
    conn: sqlite3.Connection,
    schema: Schema,
    after: int,
    chunk: int = 250_000,
    helper: sqlite3.Connection | None = None,
) -> Groups:
    """Sums of every row with rowid > after, read in chunks of `chunk` rows, each chunk in one
    short read transaction (a writer is never held back for long).

    With `helper` (a second connection to the same file), time buckets are summed on it in a
    second thread while `conn` sums the dimensions and latencies (about the same work):
    SQLite releases the GIL, so two cores nearly halve the wait. The two may read a commit
    apart (the helper outside `conn`'s transaction); the caller re-checks after any commit
    (data_version).
    """
    sql = group_sql(schema)
    groups = Groups(max_rowid=after)
    _clear(conn)
    if helper is not None:
        _clear(helper)
    pool = ThreadPoolExecutor(1, thread_name_prefix="telemetry-sum") if helper else None
    low = after
    try:
        while True:
            conn.execute("BEGIN")
            try:
                row = conn.execute(
                    "SELECT rowid FROM main.invocations WHERE rowid > ? ORDER BY rowid"
                    " LIMIT 1 OFFSET ?",
                    (low, chunk - 1),
                ).fetchone()
                last = row is None
                if last:
                    (high,) = conn.execute("SELECT max(rowid) FROM main.invocations").fetchone()
                    if high is None or high <= low:
                        conn.execute("COMMIT")
                        break
                else:
                    high = row[0]
                bounds = (low, high)
                in_time: Future | None = None
                if pool is not None and helper is not None:
                    in_time = pool.submit(helper.execute, sql.by_time, bounds)
                else:
                    conn.execute(sql.by_time, bounds)
                try:
                    odd_before = _odd_count(conn)
                    conn.execute(sql.by_dims, bounds)
                    conn.execute(sql.by_latency, bounds)
                    if _odd_count(conn) > odd_before:  # rare: only then look for those rows
                        groups.odd_rows.extend(conn.execute(sql.odd_rows, bounds).fetchall())
                finally:
                    if in_time is not None:
                        in_time.result()  # never leave the helper running
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            low = groups.max_rowid = high
            if last:
                break
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    for model, tool, agent, status, *sums in conn.execute("SELECT * FROM temp.tm_by_dims"):
        key = tuple(None if v == NULL_KEY else v for v in (model, tool, agent, status))
        groups.by_dims[key] = sums
    for k, b, c, agent, *sums in (helper or conn).execute("SELECT * FROM temp.tm_by_time"):
        groups.by_time[(k, b, c, None if agent == NULL_KEY else agent)] = sums
    groups.by_latency = dict(conn.execute("SELECT v, n FROM temp.tm_by_latency").fetchall())
    _clear(conn)
    if helper is not None:
        _clear(helper)
    return groups


def refine(
    conn: sqlite3.Connection, schema: Schema, keys: list[TimeKey], after: int, upto: int
) -> list[tuple]:
    """(timestamp, agent, n, tokens, cost) for every distinct timestamp and agent in the given
    time buckets (agent None when NULL)."""
    conn.execute("DELETE FROM temp.tm_keys")
    conn.executemany("INSERT OR IGNORE INTO temp.tm_keys VALUES (?, ?, ?)", keys)
    try:
        rows = conn.execute(group_sql(schema).refine, (after, upto)).fetchall()
        return [(t, None if a == NULL_KEY else a, *sums) for t, a, *sums in rows]
    finally:
        conn.execute("DELETE FROM temp.tm_keys")


assert ROW_FIELDS[0] == "rowid"
