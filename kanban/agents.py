"""Agents as workers: who is busy, idle or silent, and how fast work flows through each.

Pure Python over a board snapshot. "Activity" is any sign of life: a task file of the agent
changing, and whatever other sources report (telemetry calls, operation events) through
`last_seen`.
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
        if name in busy_now or working:
            state = BUSY
        elif now - latest > silent_after_s:
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
    times = [
        task_moment(t.data, "assigned")[0] or t.updated_at for t in tasks if t.lane == "assigned"
    ]
    return max(0.0, now - min(times)) if times else None


def _median_cycle(tasks: list[Task]) -> float | None:
    cycles = []
    for task in tasks:
        if task.lane != "done":
            continue
        end, _ = task_moment(task.data, "done")
        start = next(
            (m for m in (parse_moment(task.data.get(f)) for f in START_FIELDS) if m is not None),
            None,
        )
        if end is not None and start is not None and end >= start:
            cycles.append(end - start)
    return statistics.median(cycles) if cycles else None


def _done_per_day(tasks: list[Task], now: float) -> tuple[int, ...]:
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
    counts = [0] * THROUGHPUT_DAYS
    for task in tasks:
        if task.lane != "done":
            continue
        end = task_moment(task.data, "done")[0] or task.updated_at
        age_days = (today - dt.datetime.fromtimestamp(end, dt.timezone.utc).date()).days
        if 0 <= age_days < THROUGHPUT_DAYS:
            counts[THROUGHPUT_DAYS - 1 - age_days] += 1
    return tuple(counts)
