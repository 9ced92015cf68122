"""In-memory telemetry figures, built once and then fed only new rows. Plain Python, no Django.

Why in memory: with a million invocations, summing in SQL on each request costs hundreds of
milliseconds; keeping per-day/per-model/per-agent sums and a latency histogram makes /api/stats
a few dictionary look-ups. SQLite does the summing (telemetry.groups): a million rows arrive
here as a few thousand groups, folded into local days in Python so that every zone is right.

Decisions (documented for users of /api/stats):
- cost: NULL -> 0; negative -> 0, counted in `negative_costs` and logged; not a number, not
  finite or above MAX_COST (1e9 USD) -> 0, counted in `odd_values` and logged.
- tokens: NULL -> 0; negative, not finite, not a number or above MAX_TOKENS -> 0 (odd_values).
- a row whose timestamp cannot be read (or lies outside years 1-9999) counts in the totals, in
  no day (`undated`). Rows with a NULL cost are counted in `null_costs` (as 0, as the spec says).
- per agent and day (`by_day_agent`), and when each agent was last active (`agent_last`, the
  end of its latest 15-minute bucket: never earlier than its latest call, at most 15 min late).
- success: status in SUCCESS_STATUSES, case-insensitive; NULL or anything else is not a success.
- latency: NULL or negative latencies are left out of avg and p95, and so are non-finite ones
  or those above MAX_LATENCY (odd_values). p95 is the value at index floor(0.95 * n) of the
  sorted latencies (the spec's `LIMIT 1 OFFSET COUNT(*) * 0.95`), exact: the histogram keys
  are the stored values (fractional ones rounded to 1 µs).
- the per-model, per-agent and per-tool tables list the TOP_ROWS most expensive entries and
  sum the rest in `<table>_more`; names longer than NAME_MAX are cut (`truncated: true`).
"""

from __future__ import annotations

import heapq
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from .budgets import month_forecast
from .groups import MAX_LATENCY, MAX_TOKENS, ODD, Groups, TimeKey
from .schema import MAX_COST
from .timestamps import UTC, parse_timestamp

log = logging.getLogger("telemetry")

SUCCESS_STATUSES = frozenset({"success", "succeeded", "ok", "completed", "complete", "done"})
UNKNOWN = "(unknown)"
DAILY_DAYS = 30
AGENT_DAYS = 62  # per-agent days kept in the stats: enough for this month and the last days
AGENTS_TODAY_MAX = 200
TOP_ROWS = 20  # per-model/agent/tool rows in /api/stats and on the board; the rest summed
NAME_MAX = 200  # characters of a model/agent/tool/status name we pass on
QUARTER = timedelta(minutes=15)
LAST_MOMENT = timedelta(microseconds=1)
_STRADDLES = "straddles"  # a time bucket that crosses local midnight: ask for its timestamps
_MISSING = object()


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


# -- one value at a time (rows SQLite cannot sum: text or BLOB numbers) -------------------
def clean_cost(value: object) -> tuple[float, str | None]:
    """(cost counted, why it was counted as 0 or None)."""
    if value is None:
        return 0.0, None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return 0.0, f"not a number: {_short(value)}"
    if x != x:
        return 0.0, "not a number"
    if x < 0:
        return 0.0, f"negative: {x}"
    if x > MAX_COST:
        return 0.0, "not finite" if math.isinf(x) else f"too large: {x}"
    return x, None


def clean_tokens(value: object) -> tuple[int, bool]:
    """(tokens counted, whether the value was odd)."""
    if value is None:
        return 0, False
    if type(value) is int:
        return (value, False) if 0 <= value <= MAX_TOKENS else (0, True)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return 0, True
    if not (0 <= x <= MAX_TOKENS):  # NaN fails this too
        return 0, True
    return int(x), False


def clean_latency(value: object) -> tuple[float | None, bool]:
    """(latency kept, or None when left out; whether the value was odd)."""
    if value is None:
        return None, False
    if type(value) is int:
        x: float = value
    else:
        try:
            x = round(float(value), 3)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return None, True
        if x != x:
            return None, True
    if x < 0:
        return None, False
    if x > MAX_LATENCY:
        return None, True
    return x, False


def _note_rows(notes: list[str], rows: list[tuple[int, str]]) -> None:
    if rows:
        first = ", ".join(f"{rowid} ({why})" for rowid, why in rows[:5])
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        notes.append(f"telemetry values counted as 0: invocation {first}{more}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def local_day(moment: datetime | None, tz: tzinfo) -> str | None:
    if moment is None:
        return None
    try:
        return moment.astimezone(tz).date().isoformat()
    except (OverflowError, ValueError):
        return None


class Aggregates:
    """Sums over every row seen so far. Not thread-safe: one writer at a time."""

    def __init__(self, tz: tzinfo, day_cache: dict | None = None) -> None:
        self.tz = tz
        self.max_rowid = 0
        self.total = Totals()
        self.by_day: dict[str, list] = {}  # "YYYY-MM-DD" (dashboard zone) -> [cost, tokens, n]
        self.by_day_agent: dict[str, dict[str, list]] = {}  # day -> agent -> [cost, tokens, n]
        self.agent_last: dict[str, float] = {}  # agent -> seconds since the epoch (see above)
        self.null_costs = 0
        self.by_model: dict[str, Totals] = {}
        self.by_agent: dict[str, Totals] = {}
        self.by_tool: dict[str, Totals] = {}
        self.by_status: Counter[str] = Counter()
        self.latencies: dict[float, int] = {}
        self.undated = 0
        self.negative_costs = 0
        self.odd_values = 0
        # What was counted as 0 or in no day, for the caller to log (a re-aggregation that
        # finds the same rows again should not log them again). See log_notes().
        self.notes: list[str] = []
        # time bucket or raw timestamp -> local day (None: no day); shared between the
        # aggregations of one service and zone, so a re-aggregation parses nothing again.
        self._days: dict = day_cache if day_cache is not None else {}

    # -- feeding: groups summed by SQLite ------------------------------------------------
    def add_groups(
        self, groups: Groups, refine: Callable[[list[TimeKey]], list[tuple]] | None = None
    ) -> int:
        """Fold `groups` in; `refine(keys)` returns (timestamp, n, tokens, cost) for each
        distinct timestamp in buckets that cross local midnight (rare: odd offsets)."""
        straddling: dict[TimeKey, None] = {}
        for (k, b, c, agent), (n, tokens, cost, nulls) in groups.by_time.items():
            key = (k, b, c)
            self.null_costs += nulls
            day = self._bucket_day(key)
            if day is _STRADDLES:
                straddling[key] = None
            else:
                self._add_day(day, n, tokens, cost, agent)  # type: ignore[arg-type]
            self._note_active(agent, key)
        if straddling:
            if refine is None:
                raise ValueError("time buckets cross midnight and no refine() was given")
            for ts, agent, n, tokens, cost in refine(list(straddling)):
                self._add_day(self._exact_day(ts), n, tokens, cost, agent)
        added = 0
        negative = odd = 0
        for (model, tool, agent, status), sums in groups.by_dims.items():
            n, tokens, cost, lat_sum, lat_n, neg, flags = sums
            self._add_dims(model, tool, agent, status, n, tokens, cost, lat_sum, lat_n)
            added += n
            negative += neg
            odd += int(flags) % ODD  # text/BLOB values (above ODD) are judged by _add_odd_rows
        self.negative_costs += negative
        self.odd_values += odd
        if negative or odd:
            self.notes.append(
                f"telemetry: {negative} negative costs and {odd} values not finite, too large"
                f" or not numbers counted as 0 (invocations {self.max_rowid + 1} to"
                f" {groups.max_rowid})"
            )
        latencies = self.latencies
        for value, n in groups.by_latency.items():
            latencies[value] = latencies.get(value, 0) + n
        self.max_rowid = max(self.max_rowid, groups.max_rowid)
        if groups.odd_rows:
            self._add_odd_rows(groups.odd_rows)
        return added

    def _add_odd_rows(self, rows: Iterable[Sequence]) -> None:
        """Rows already counted by SQLite with their text/BLOB values as 0 (see groups.odd_sql):
        add what those values are worth, judged as add_rows judges them."""
        text = (str, bytes)
        notes: list[tuple[int, str]] = []
        for rowid, ts, model, tool, agent, status, tokens, cost, latency in rows:
            cost_value, tokens_value, lat_sum, lat_n = 0.0, 0, 0.0, 0
            if isinstance(cost, text):
                cost_value, why = clean_cost(cost)
                if why is not None:
                    notes.append((rowid, why))
                    if why.startswith("negative"):
                        self.negative_costs += 1
                    else:
                        self.odd_values += 1
            if isinstance(tokens, text):
                tokens_value, odd = clean_tokens(tokens)
                if odd:
                    self.odd_values += 1
                    notes.append((rowid, "tokens counted as 0"))
            if isinstance(latency, text):
                lat_value, odd = clean_latency(latency)
                if lat_value is not None:
                    lat_sum, lat_n = lat_value, 1
                    self.latencies[lat_value] = self.latencies.get(lat_value, 0) + 1
                if odd:
                    self.odd_values += 1
                    notes.append((rowid, "latency left out"))
            if cost_value or tokens_value or lat_n:
                self._add_day(self._exact_day(ts), 0, tokens_value, cost_value, agent, counted=True)
                self._add_dims(
                    model, tool, agent, status, 0, tokens_value, cost_value, lat_sum, lat_n
                )
        _note_rows(self.notes, notes)

    # -- feeding: one row at a time ----------------------------------------------------------
    def add_rows(self, rows: Iterable[Sequence]) -> int:
        """Rows in schema.ROW_FIELDS order: rowid, timestamp, model, tool, agent, status,
        tokens, cost, latency. Returns how many were added."""
        dims: dict[tuple, list] = {}
        odd_rows: list[tuple[int, str]] = []
        max_rowid = self.max_rowid
        added = 0
        for rowid, ts, model, tool, agent, status, tokens, cost, latency in rows:
            added += 1
            if rowid > max_rowid:
                max_rowid = rowid
            cost_value, why = clean_cost(cost)
            if cost is None:
                self.null_costs += 1
            if why is not None:
                odd_rows.append((rowid, why))
                if why.startswith("negative"):
                    self.negative_costs += 1
                else:
                    self.odd_values += 1
            token_value, odd_tokens = clean_tokens(tokens)
            lat_value, odd_latency = clean_latency(latency)
            if odd_tokens or odd_latency:
                self.odd_values += odd_tokens + odd_latency
                odd_rows.append((rowid, "tokens or latency counted as 0"))
            self._add_day(self._exact_day(ts), 1, token_value, cost_value, agent)
            moment = parse_timestamp(ts)
            if moment is not None:
                self._seen(agent, moment.timestamp())
            acc = dims.get((model, tool, agent, status))
            if acc is None:
                acc = dims[(model, tool, agent, status)] = [0, 0, 0.0, 0.0, 0]
            acc[0] += 1
            acc[1] += token_value
            acc[2] += cost_value
            if lat_value is not None:
                acc[3] += lat_value
                acc[4] += 1
                self.latencies[lat_value] = self.latencies.get(lat_value, 0) + 1
        self.max_rowid = max_rowid
        for key, sums in dims.items():
            self._add_dims(*key, *sums)
        _note_rows(self.notes, odd_rows)
        return added

    # -- folding -------------------------------------------------------------------------
    def _add_day(
        self,
        day: str | None,
        n: int,
        tokens: int,
        cost: float,
        agent: object = None,
        counted: bool = False,
    ) -> None:
        if day is None:
            self.undated += n
            return
        if counted and day not in self.by_day:
            return  # its row was counted in no day by SQLite: keep it there
        bucket = self.by_day.get(day)
        if bucket is None:
            bucket = self.by_day[day] = [0.0, 0, 0]
        bucket[0] += cost
        bucket[1] += tokens
        bucket[2] += n
        agents = self.by_day_agent.get(day)
        if agents is None:
            agents = self.by_day_agent[day] = {}
        name = UNKNOWN if agent is None or agent == "" else str(agent)
        acc = agents.get(name)
        if acc is None:
            acc = agents[name] = [0.0, 0, 0]
        acc[0] += cost
        acc[1] += tokens
        acc[2] += n

    def _seen(self, agent: object, at: float) -> None:
        if agent is None or agent == "":
            return
        name = str(agent)
        if at > self.agent_last.get(name, float("-inf")):
            self.agent_last[name] = at

    def _note_active(self, agent: object, key: TimeKey) -> None:
        if agent is None or agent == "":
            return
        cache_key = ("end", key)
        end = self._days.get(cache_key, _MISSING)
        if end is _MISSING:
            end = self._bucket_end(key)
            self._remember(cache_key, end)
        if end is not None:
            self._seen(agent, end)  # type: ignore[arg-type]

    def _bucket_end(self, key: TimeKey) -> float | None:
        """The last moment a time bucket can hold (its exact time for raw values)."""
        k, b, c = key
        try:
            if len(k) == 14 and k[13] == ":":
                start = parse_timestamp(f"{k}{b * 15:02d}{c}")
                return None if start is None else (start + QUARTER).timestamp()
            if k[0] == "#":
                return (int(k[1:]) + 1) * 900.0
            if k[0] == "n":
                moment = parse_timestamp(float(k[1:]))
            elif k[0] == "r":
                moment = parse_timestamp(k[1:])
            else:
                return None
        except (ValueError, OverflowError):
            return None
        return None if moment is None else moment.timestamp()

    def _add_dims(
        self,
        model: object,
        tool: object,
        agent: object,
        status: object,
        n: int,
        tokens: int,
        cost: float,
        lat_sum: float,
        lat_n: int,
    ) -> None:
        ok = status is not None and str(status).strip().lower() in SUCCESS_STATUSES
        success = n if ok else 0
        self.total.add(n, tokens, cost, success, lat_sum, lat_n)
        for key, table in ((model, self.by_model), (tool, self.by_tool), (agent, self.by_agent)):
            name = UNKNOWN if key is None or key == "" else str(key)
            t = table.get(name)
            if t is None:
                t = table[name] = Totals()
            t.add(n, tokens, cost, success, lat_sum, lat_n)
        self.by_status[UNKNOWN if status is None else str(status)] += n

    def _remember(self, key: object, day: object) -> None:
        if len(self._days) > 500_000:
            self._days.clear()
        self._days[key] = day

    def _exact_day(self, ts: object) -> str | None:
        try:
            return self._days[("=", ts)]  # type: ignore[no-any-return]
        except KeyError:
            pass
        except TypeError:  # unhashable: never from SQLite, but do not fail on it
            return local_day(parse_timestamp(ts), self.tz)
        day = local_day(parse_timestamp(ts), self.tz)
        if day is None and ts is not None:
            self.notes.append(f"telemetry timestamp {_short(ts)} cannot be read; in no day")
        self._remember(("=", ts), day)
        return day

    def _bucket_day(self, key: TimeKey) -> object:
        day = self._days.get(key, _MISSING)
        if day is not _MISSING:
            return day
        k, b, c = key
        if len(k) == 14 and k[13] == ":":
            kind = "text"
        elif k == "z":
            kind = "none"
        elif k[0] == "#":
            kind = "number"
        else:
            kind = "raw"
        if kind == "none":
            day = None
        elif kind == "raw" and k[0] == "n":
            try:
                day = self._exact_day(float(k[1:]))
            except ValueError:
                day = None
        elif kind == "raw":
            day = self._exact_day(k[1:])
        else:
            if kind == "number":
                start = parse_timestamp(int(k[1:]) * 900)
            else:
                start = parse_timestamp(f"{k}{b * 15:02d}{c}")
                if start is None:
                    self.notes.append(f"telemetry timestamps like {k + c!r} cannot be read")
            if start is None:
                day = None
            else:
                first = local_day(start, self.tz)
                try:
                    last = local_day(start + QUARTER - LAST_MOMENT, self.tz)
                except OverflowError:
                    last = None
                day = first if first == last and first is not None else _STRADDLES
        self._remember(key, day)
        return day

    def log_notes(self, previous: Aggregates | None = None) -> None:
        """Log the notes gathered so far, unless `previous` (the figures this one replaces)
        already counted as many odd values: then they were logged when first seen."""
        notes, self.notes = self.notes, []
        if previous is not None and (
            self.negative_costs <= previous.negative_costs
            and self.odd_values <= previous.odd_values
            and self.undated <= previous.undated
        ):
            return
        for note in notes[:20]:
            log.warning("%s", note)

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


# -- the /api/stats shape -----------------------------------------------------------------
def _name(name: str) -> tuple[str, bool]:
    if len(name) <= NAME_MAX:
        return name, False
    return name[: NAME_MAX - 1] + "…", True


def _rows(table: dict[str, Totals], key: str, total_count: int) -> tuple[list[dict], dict]:
    """The TOP_ROWS most expensive entries, and the rest summed."""
    ranked = heapq.nsmallest(
        TOP_ROWS, table.items(), key=lambda kv: (-kv[1].cost, -kv[1].count, kv[0])
    )
    rows = []
    for name, t in ranked:
        shown, cut = _name(name)
        row: dict[str, Any] = {key: shown}
        row.update(t.as_dict())
        row["share"] = round(t.count / total_count, 6) if total_count else 0.0
        if cut:
            row["truncated"] = True
        rows.append(row)
    rest_n = len(table) - len(rows)
    listed = {name for name, _ in ranked}
    rest = Totals()
    if rest_n:
        for name, t in table.items():
            if name not in listed:
                rest.add(t.count, t.tokens, t.cost, t.success, t.lat_sum, t.lat_n)
    more = {
        "count": rest_n,
        "invocations": rest.count,
        "tokens": rest.tokens,
        "cost": round(rest.cost, 6),
    }
    return rows, more


def base_stats(agg: Aggregates) -> dict:
    """The part of /api/stats that only changes when rows arrive (computed once per change)."""
    t = agg.total.as_dict()
    count = agg.total.count
    models, models_more = _rows(agg.by_model, "model", count)
    tools, tools_more = _rows(agg.by_tool, "tool", count)
    if any(k != UNKNOWN for k in agg.by_agent):
        agents, agents_more = _rows(agg.by_agent, "agent", count)
    else:
        agents, agents_more = [], {"count": 0, "invocations": 0, "tokens": 0, "cost": 0.0}
    for row in agents + tools:
        del row["share"]
    top_statuses = heapq.nsmallest(TOP_ROWS, agg.by_status.items(), key=lambda kv: (-kv[1], kv[0]))
    by_month: dict[str, list] = {}
    for day, (cost, tokens, n) in agg.by_day.items():
        month = by_month.setdefault(day[:7], [0.0, 0, 0])
        month[0] += cost
        month[1] += tokens
        month[2] += n
    return {
        "cost_total": agg.total.cost,
        "tokens": t["tokens"],
        "invocations": t["invocations"],
        "avg_cost": round(agg.total.cost / count, 6) if count else 0.0,
        "models": models,
        "models_more": models_more,
        "agents": agents,
        "agents_more": agents_more,
        "tools": tools,
        "tools_more": tools_more,
        "statuses": {_name(k)[0]: v for k, v in sorted(top_statuses)},
        "statuses_more": {
            "count": max(0, len(agg.by_status) - len(top_statuses)),
            "invocations": count - sum(v for _, v in top_statuses),
        },
        "latency_ms": {"avg": t["avg_latency_ms"], "p95": agg.p95()},
        "success_rate": t["success_rate"],
        "undated": agg.undated,
        "null_costs": agg.null_costs,
        "negative_costs": agg.negative_costs,
        "odd_values": agg.odd_values,
        "by_day": {k: tuple(v) for k, v in agg.by_day.items()},
        "by_month": {k: tuple(v) for k, v in by_month.items()},
        "by_day_agent": _recent_agent_days(agg),
        "agent_last": dict(agg.agent_last),
    }


def _recent_agent_days(agg: Aggregates) -> dict[str, dict[str, tuple]]:
    """Per agent and day, for the last days only (today and this month are all that use it;
    a year of days x agents would be copied on every change for nothing)."""
    if not any(k != UNKNOWN for day in agg.by_day_agent.values() for k in day):
        return {}
    recent = sorted(agg.by_day_agent)[-AGENT_DAYS:]
    return {day: {agent: tuple(v) for agent, v in agg.by_day_agent[day].items()} for day in recent}


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
    today_key = today.isoformat()
    future = sum(n for day, (_, _, n) in by_day.items() if day > today_key)
    agents_today = sorted(
        (
            {"agent": _name(agent)[0], "cost": round(v[0], 6), "tokens": v[1], "invocations": v[2]}
            for agent, v in base.get("by_day_agent", {}).get(today_key, {}).items()
            if agent != UNKNOWN
        ),
        key=lambda r: (-r["cost"], r["agent"]),
    )
    return {
        "agents_today": agents_today[:AGENTS_TODAY_MAX],
        "future_rows": future,
        "cost": {
            "today": round(today_row[0], 6),
            "month": round(month_row[0], 6),
            "total": round(base["cost_total"], 6),
        },
        "today": {"invocations": today_row[2], "tokens": today_row[1]},
        "daily": daily,
        "cost_velocity": round(velocity(today_row[0], local_now), 6),
        "month_forecast": round(month_forecast(month_row[0], local_now), 6),
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
