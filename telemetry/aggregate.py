"""In-memory telemetry figures, built once and then fed only new rows. Plain Python, no Django.

Why in memory: with a million invocations, summing in SQL on each request costs hundreds of
milliseconds; keeping per-day/per-model/per-agent sums and a latency histogram makes /api/stats
a few dictionary look-ups, and new rows (read by rowid) are added in microseconds.

Decisions (documented for users of /api/stats):
- cost: NULL -> 0; negative -> 0 and logged; text that is not a number -> 0 and logged.
- tokens: NULL -> 0 (llm schema: total_tokens).
- a row whose timestamp cannot be read counts in the totals, in no day (and is logged).
- success: status in SUCCESS_STATUSES, case-insensitive; NULL or anything else is not a success.
- latency: NULL or negative latencies are left out of avg and p95. p95 is the value at index
  floor(0.95 * n) of the sorted latencies (the spec's `LIMIT 1 OFFSET COUNT(*) * 0.95`), exact:
  the histogram keys are the stored values (fractional ones rounded to 1 µs).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from .timestamps import UTC, parse_timestamp

log = logging.getLogger("telemetry")

SUCCESS_STATUSES = frozenset({"success", "succeeded", "ok", "completed", "complete", "done"})
UNKNOWN = "(unknown)"
DAILY_DAYS = 30


class Totals:
    __slots__ = ("count", "tokens", "cost", "success", "lat_sum", "lat_n")

    def __init__(self) -> None:
        self.count = 0
        self.tokens = 0
        self.cost = 0.0
        self.success = 0
        self.lat_sum = 0.0
        self.lat_n = 0

    def add(
        self, count: int, tokens: int, cost: float, success: int, lat_sum: float, lat_n: int
    ) -> None:
        self.count += count
        self.tokens += tokens
        self.cost += cost
        self.success += success
        self.lat_sum += lat_sum
        self.lat_n += lat_n

    def as_dict(self) -> dict:
        return {
            "invocations": self.count,
            "tokens": self.tokens,
            "cost": round(self.cost, 6),
            "success_rate": round(self.success / self.count, 6) if self.count else None,
            "avg_latency_ms": round(self.lat_sum / self.lat_n, 3) if self.lat_n else None,
        }


class Aggregates:
    """Sums over every row seen so far. Not thread-safe: one writer (the service) at a time."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.max_rowid = 0
        self.total = Totals()
        self.by_day: dict[str, list] = {}  # "YYYY-MM-DD" (dashboard zone) -> [cost, tokens, n]
        self.by_month: dict[str, list] = {}  # "YYYY-MM" -> [cost, tokens, n]
        self.by_model: dict[str, Totals] = {}
        self.by_agent: dict[str, Totals] = {}
        self.by_tool: dict[str, Totals] = {}
        self.by_status: Counter[str] = Counter()
        self.latencies: dict[float, int] = {}
        self.undated = 0
        self.negative_costs = 0
        # Parsing and zone conversion dominate the cost of a row; writers repeat the same
        # minute (and offset) many times, so remember minute-prefix -> local day.
        self._day_cache: dict[str, str | None] = {}

    # -- feeding -------------------------------------------------------------------------
    def add_rows(self, rows: Iterable[Sequence]) -> int:
        """Rows in schema.ROW_FIELDS order: rowid, timestamp, model, tool, agent, status,
        tokens, cost, latency. Returns how many were added."""
        # Speed matters (a million rows at startup): each row updates one small accumulator
        # keyed by (day, model, tool, agent, status) and the latency histogram; the per-day,
        # per-model... tables are folded from those few thousand accumulators afterwards.
        combos: dict[tuple, list] = {}
        latencies = self.latencies
        day_of = self._day_of
        odd_rows: list[tuple[int, str]] = []
        max_rowid = self.max_rowid
        added = 0
        for rowid, ts, model, tool, agent, status, tokens, cost, latency in rows:
            added += 1
            if rowid > max_rowid:
                max_rowid = rowid
            if type(cost) is not float or cost < 0.0 or cost != cost:
                cost = self._clean_cost(cost, rowid, odd_rows)
            if type(tokens) is not int:
                tokens = int(_number(tokens, rowid))
            key = (day_of(ts), model, tool, agent, status)
            acc = combos.get(key)
            if acc is None:
                acc = combos[key] = [0, 0, 0.0, 0.0, 0]
            acc[0] += 1
            acc[1] += tokens
            acc[2] += cost
            if latency is not None:
                if type(latency) is not int:
                    latency = _latency(latency)
                if latency is not None and latency >= 0:
                    acc[3] += latency
                    acc[4] += 1
                    latencies[latency] = latencies.get(latency, 0) + 1
        self.max_rowid = max_rowid
        self._fold(combos)
        if odd_rows:
            first = ", ".join(f"{rowid} ({why})" for rowid, why in odd_rows[:5])
            more = f" and {len(odd_rows) - 5} more" if len(odd_rows) > 5 else ""
            log.warning("telemetry costs counted as 0: invocation %s%s", first, more)
        return added

    def _clean_cost(self, cost: object, rowid: int, odd: list[tuple[int, str]]) -> float:
        if cost is None:
            return 0.0
        value = _number(cost, rowid)
        if value != value:
            odd.append((rowid, "not a number"))
            return 0.0
        if value < 0:
            self.negative_costs += 1
            odd.append((rowid, f"negative: {value}"))
            return 0.0
        return value

    def _fold(self, combos: dict[tuple, list]) -> None:
        total = self.total
        for (day, model, tool, agent, status), (n, tokens, cost, lat_sum, lat_n) in combos.items():
            ok = status is not None and str(status).strip().lower() in SUCCESS_STATUSES
            success = n if ok else 0
            total.add(n, tokens, cost, success, lat_sum, lat_n)
            for key, table in (
                (model, self.by_model),
                (tool, self.by_tool),
                (agent, self.by_agent),
            ):
                name = UNKNOWN if key is None or key == "" else str(key)
                t = table.get(name)
                if t is None:
                    t = table[name] = Totals()
                t.add(n, tokens, cost, success, lat_sum, lat_n)
            self.by_status[UNKNOWN if status is None else str(status)] += n
            if day is None:
                self.undated += n
                continue
            for period_table, period in ((self.by_day, day), (self.by_month, day[:7])):
                bucket = period_table.get(period)
                if bucket is None:
                    bucket = period_table[period] = [0.0, 0, 0]
                bucket[0] += cost
                bucket[1] += tokens
                bucket[2] += n

    def _day_of(self, ts: object) -> str | None:
        # The local day depends only on the instant to the minute (zone offsets are whole
        # minutes), so the key is the text without seconds and fraction, plus its offset.
        if type(ts) is str and len(ts) >= 16 and ts[4] == "-" and ts[13] == ":":
            tail = ts[16:].lstrip("0123456789:.,")
            key = ts[:16] + tail
        else:
            key = None
        if key is not None:
            cached = self._day_cache.get(key, False)
            if cached is not False:
                return cached  # type: ignore[return-value]
        moment = parse_timestamp(ts)
        if moment is None:
            log.warning("telemetry timestamp %r is not ISO 8601; the row is in no day", ts)
            day = None
        else:
            day = moment.astimezone(self.tz).date().isoformat()
        if key is not None:
            if len(self._day_cache) > 200_000:
                self._day_cache.clear()
            self._day_cache[key] = day
        return day

    # -- reading -------------------------------------------------------------------------
    def p95(self) -> float | None:
        n = sum(self.latencies.values())
        if not n:
            return None
        target = int(n * 0.95)  # 0-based index, as the spec's OFFSET
        seen = 0
        for value in sorted(self.latencies):
            seen += self.latencies[value]
            if seen > target:
                return float(value)
        return None  # unreachable


def _number(value: object, rowid: int) -> float:
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        log.warning("invocation %s has a non-numeric value %r; counted as 0", rowid, value)
        return 0.0


def _latency(value: object) -> float | None:
    if isinstance(value, float):
        return round(value, 3) if value == value else None
    try:
        return round(float(value), 3)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


# -- the /api/stats shape -----------------------------------------------------------------
def _rows(table: dict[str, Totals], key: str) -> list[dict]:
    rows = []
    for name, t in table.items():
        row: dict[str, Any] = {key: name}
        row.update(t.as_dict())
        rows.append(row)
    rows.sort(key=lambda r: (-r["cost"], -r["invocations"], r[key]))
    return rows


def base_stats(agg: Aggregates) -> dict:
    """The part of /api/stats that only changes when rows arrive (computed once per change)."""
    t = agg.total.as_dict()
    p95 = agg.p95()
    models = _rows(agg.by_model, "model")
    for m in models:
        m["share"] = round(m["invocations"] / agg.total.count, 6) if agg.total.count else 0.0
    return {
        "cost_total": agg.total.cost,
        "tokens": t["tokens"],
        "invocations": t["invocations"],
        "avg_cost": round(agg.total.cost / agg.total.count, 6) if agg.total.count else 0.0,
        "models": models,
        "agents": _rows(agg.by_agent, "agent") if any(k != UNKNOWN for k in agg.by_agent) else [],
        "tools": _rows(agg.by_tool, "tool"),
        "statuses": dict(sorted(agg.by_status.items())),
        "latency_ms": {"avg": t["avg_latency_ms"], "p95": p95},
        "success_rate": t["success_rate"],
        "undated": agg.undated,
        "negative_costs": agg.negative_costs,
        "by_day": {k: tuple(v) for k, v in agg.by_day.items()},
        "by_month": {k: tuple(v) for k, v in agg.by_month.items()},
    }


def timed_stats(base: dict, now: datetime, tz: tzinfo) -> dict:
    """The part that depends on the clock: today, this month, the last 30 days, velocity."""
    local_now = now.astimezone(tz)
    today = local_now.date()
    by_day = base["by_day"]
    zero = (0.0, 0, 0)
    today_row = by_day.get(today.isoformat(), zero)
    month_row = base["by_month"].get(today.isoformat()[:7], zero)
    daily = []
    for i in range(DAILY_DAYS - 1, -1, -1):
        day = (today - timedelta(days=i)).isoformat()
        cost, tokens, n = by_day.get(day, zero)
        daily.append({"date": day, "cost": round(cost, 6), "tokens": tokens, "invocations": n})
    return {
        "cost": {
            "today": round(today_row[0], 6),
            "month": round(month_row[0], 6),
            "total": round(base["cost_total"], 6),
        },
        "today": {"invocations": today_row[2], "tokens": today_row[1]},
        "daily": daily,
        "cost_velocity": round(velocity(today_row[0], local_now), 6),
    }


def velocity(today_cost: float, local_now: datetime) -> float:
    """Today's spend projected to 24 h: cost / hours elapsed * 24 (spec "Derived Metrics").

    Hours elapsed count from local midnight, at least one hour, so that a single call at
    00:05 does not project to a wildly large number."""
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Subtracting in UTC: two datetimes sharing a tzinfo subtract as wall clocks, which is
    # wrong on DST days (23 or 25 hours).
    hours = (local_now.astimezone(UTC) - midnight.astimezone(UTC)).total_seconds() / 3600
    hours = max(hours, 1.0)
    return today_cost / hours * 24


def empty_base() -> dict:
    return base_stats(Aggregates(UTC))


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
