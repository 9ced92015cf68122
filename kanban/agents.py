"""Agents as workers: who is busy, idle or silent, and how fast work flows through each.

Pure Python over a board snapshot. "Activity" is any sign of life: a task file of the agent
changing, and whatever other sources report (telemetry calls, operation events) through
`last_seen`.

States: `busy` with a task in progress or a running operation; `silent` when it has work
waiting in Assigned and no sign of life for `silent_after_s`; `idle` otherwise (an agent whose
work is all done is not stuck, however long ago it finished).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .tasks import Task
from .times import parse_moment, task_moment

BUSY, IDLE, SILENT = "busy", "idle", "silent"
DEFAULT_SILENT_AFTER_S = 30 * 60
THROUGHPUT_DAYS = 14
START_FIELDS = ("started_at", "assigned_at", "claimed_at", "created_at", "created")


@dataclass(frozen=True)
class AgentFlow:
    name: str
    state: str  # busy, idle or silent
    lanes: Mapping[str, int]  # tasks per lane
    working_on: tuple[Task, ...]  # its in-progress tasks
    last_seen: float | None  # seconds since the epoch
    oldest_in_lane_s: float | None  # how long its oldest Assigned task has waited
    cycle_time_s: float | None  # median start-to-done of its finished tasks
    done_per_day: tuple[int, ...] = field(default=())  # oldest first, THROUGHPUT_DAYS long

    @property
    def throughput(self) -> float:
        """Tasks finished per day, over the throughput window."""
        return sum(self.done_per_day) / max(1, len(self.done_per_day))


def agent_flows(
    tasks: Iterable[Task],
    now: float,
    *,
    last_seen: Mapping[str, float] | None = None,
    silent_after_s: float = DEFAULT_SILENT_AFTER_S,
    running: Iterable[str] = (),
) -> list[AgentFlow]:
    """One `AgentFlow` per agent with a task in Assigned or Done (Inbox has no worker yet).

    `running` names agents with a live operation: they are busy whatever their files say.
    """
    by_agent: dict[str, list[Task]] = {}
    for task in tasks:
        if task.lane != "inbox":
            by_agent.setdefault(task.agent, []).append(task)
    seen = dict(last_seen or {})
    busy_now = set(running)
    flows = []
    for name in sorted(by_agent):
        own = by_agent[name]
        latest = max([t.updated_at for t in own] + ([seen[name]] if name in seen else []))
        working = tuple(t for t in own if t.lane == "assigned" and t.status == "in_progress")
        waiting = any(t.lane == "assigned" for t in own)
        if name in busy_now or working:
            state = BUSY
        elif waiting and now - latest > silent_after_s:
            state = SILENT
        else:
            state = IDLE
        flows.append(
            AgentFlow(
                name=name,
                state=state,
                lanes={
                    lane: sum(1 for t in own if t.lane == lane) for lane in ("assigned", "done")
                },
                working_on=working,
                last_seen=latest,
                oldest_in_lane_s=_oldest_waiting(own, now),
                cycle_time_s=_median_cycle(own),
                done_per_day=_done_per_day(own, now),
            )
        )
    return flows


def _oldest_waiting(tasks: list[Task], now: float) -> float | None:
    times = [_times(t)[2] or t.updated_at for t in tasks if t.lane == "assigned"]
    return max(0.0, now - min(times)) if times else None


def _median_cycle(tasks: list[Task]) -> float | None:
    cycles = []
    for task in tasks:
        if task.lane != "done":
            continue
        end, start, _ = _times(task)
        if end is not None and start is not None and end >= start:
            cycles.append(end - start)
    return statistics.median(cycles) if cycles else None


def _done_per_day(tasks: list[Task], now: float) -> tuple[int, ...]:
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
    counts = [0] * THROUGHPUT_DAYS
    for task in tasks:
        if task.lane != "done":
            continue
        end = _times(task)[0] or task.updated_at
        age_days = (today - dt.datetime.fromtimestamp(end, dt.timezone.utc).date()).days
        if 0 <= age_days < THROUGHPUT_DAYS:
            counts[THROUGHPUT_DAYS - 1 - age_days] += 1
    return tuple(counts)


# A task's own times, by task object: tasks are immutable and replaced when their file
# changes, and reading them costs most of a look at 10,000 tasks (re-read every few seconds).
_TIMES: dict[int, tuple[Task, tuple[float | None, float | None, float | None]]] = {}
_TIMES_MAX = 50_000


def _times(task: Task) -> tuple[float | None, float | None, float | None]:
    """(finished, started, last moved in Assigned), each None when the task does not say."""
    hit = _TIMES.get(id(task))
    if hit is not None and hit[0] is task:
        return hit[1]
    data = task.data
    end = task_moment(data, "done")[0] if task.lane == "done" else None
    start = next(
        (m for m in (parse_moment(data.get(f)) for f in START_FIELDS) if m is not None), None
    )
    moved = task_moment(data, "assigned")[0] if task.lane == "assigned" else None
    value = (end, start, moved)
    if len(_TIMES) >= _TIMES_MAX:
        _TIMES.clear()
    _TIMES[id(task)] = (task, value)
    return value


def silent_names(flows: Iterable[AgentFlow]) -> frozenset[str]:
    return frozenset(f.name for f in flows if f.state == SILENT)


STATE_ORDER = {SILENT: 0, BUSY: 1, IDLE: 2}


def by_attention(flows: Iterable[AgentFlow]) -> list[AgentFlow]:
    """Silent agents first (someone should look), then busy, then idle; by name within."""
    return sorted(flows, key=lambda f: (STATE_ORDER.get(f.state, 3), f.name))


def human_duration(seconds: float | None) -> str:
    """A coarse duration for people: "45 s", "12 min", "3 h 20 min", "4 days"."""
    if seconds is None:
        return "–"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = round(seconds / 86400, 1)
    return f"{days:g} day{'s' if days != 1 else ''}"


def throughput_bars(
    done_per_day: tuple[int, ...], now: float, width: int = 168, height: int = 40
) -> dict:
    """Geometry of a small bar chart of tasks finished per day (oldest first, UTC days)."""
    n = max(1, len(done_per_day))
    top = max(done_per_day, default=0) or 1
    slot = width / n
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
    bars = []
    for i, count in enumerate(done_per_day):
        h = 0.0 if not count else max(2.0, (height - 2) * count / top)
        day = today - dt.timedelta(days=len(done_per_day) - 1 - i)
        bars.append(
            {
                "x": round(i * slot + slot * 0.15, 2),
                "y": round(height - h, 2),
                "w": round(slot * 0.7, 2),
                "h": round(h, 2),
                "count": count,
                "date": day.isoformat(),
            }
        )
    return {"width": width, "height": height, "bars": bars, "top": top}
