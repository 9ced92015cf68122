"""Daily and monthly budgets: how much of each is spent, where the pace leads, and which
thresholds were crossed. Plain Python, no Django. Read-only: nothing is ever enforced.

A budget is optional (`DASHBOARD_BUDGET_DAILY`, `DASHBOARD_BUDGET_MONTHLY`, in USD). Its level
is `ok` below 80 %, `warning` from 80 %, `critical` from 95 % and `exceeded` from 100 %;
the page shows the level as a class and as words, never as a colour alone.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .timestamps import UTC

THRESHOLDS = (80, 95, 100)  # percent
LEVELS = {80: "warning", 95: "critical", 100: "exceeded"}
PERIOD_WORDS = {
    "day": ("Daily", "today", "by midnight"),
    "month": ("Monthly", "this month", "by the end of the month"),
}


@dataclass(frozen=True)
class Budget:
    period: str  # "day" or "month"
    key: str  # the period it is about: "2026-02-06" or "2026-02"
    limit: float  # USD
    spent: float
    forecast: float  # spent by the end of the period at the current pace

    @property
    def percent(self) -> float:
        return 100.0 * self.spent / self.limit if self.limit > 0 else 0.0

    @property
    def threshold(self) -> int:
        """The highest threshold reached (0: none)."""
        reached = [t for t in THRESHOLDS if self.percent >= t]
        return reached[-1] if reached else 0

    @property
    def level(self) -> str:
        return LEVELS.get(self.threshold, "ok")

    @property
    def forecast_over(self) -> bool:
        return self.forecast > self.limit

    @property
    def name(self) -> str:
        return PERIOD_WORDS[self.period][0]

    def sentence(self) -> str:
        """What the banner and the feed say, e.g. "Daily budget: 81% used ($8.10 of $10.00)"."""
        label, _, by_when = PERIOD_WORDS[self.period]
        used = f"{self.percent:.0f}% used (${self.spent:,.2f} of ${self.limit:,.2f})"
        if self.level == "exceeded":
            head = f"{label} budget exceeded: {used}."
        else:
            head = f"{label} budget: {used}."
        pace = f" At this pace, ${self.forecast:,.2f} {by_when}."
        return head + pace


def month_forecast(month_spent: float, local_now: datetime) -> float:
    """This month's spend projected to its last moment at the pace so far.

    The pace counts at least one day elapsed, so that a first call at 00:05 on the 1st does
    not project to a wildly large number (as the daily projection counts at least an hour).
    """
    start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = calendar.monthrange(local_now.year, local_now.month)[1]
    # In UTC: wall-clock subtraction is wrong across a DST change.
    elapsed = (local_now.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
    elapsed = max(elapsed, 86_400.0)
    total = timedelta(days=days).total_seconds()
    return month_spent * max(1.0, total / elapsed)


def budgets(stats: dict, daily: float | None, monthly: float | None) -> list[Budget]:
    """The configured budgets, from a get_stats() dict (its `daily` ends today)."""
    if stats.get("state") != "ok" or not stats.get("daily"):
        return []  # nothing honest to compare with
    today = stats["daily"][-1]["date"]
    found = []
    if daily:
        spent = stats["cost"]["today"]
        found.append(Budget("day", today, daily, spent, max(spent, stats["cost_velocity"])))
    if monthly:
        spent = stats["cost"]["month"]
        forecast = max(spent, stats.get("month_forecast", spent))
        found.append(Budget("month", today[:7], monthly, spent, forecast))
    return found


def worst_level(found: Iterable[Budget]) -> str:
    top = max((b.threshold for b in found), default=0)
    return LEVELS.get(top, "ok")


@dataclass(frozen=True)
class Alert:
    event: str  # budget.warning or budget.exceeded
    period: str
    threshold: int
    text: str


class BudgetAlerts:
    """Each threshold of each period is reported once: crossing 80 % today gives one
    `budget.warning`, 95 % a second one, 100 % one `budget.exceeded`; tomorrow starts over.
    When several are crossed at once (a dashboard started late), only the highest is said."""

    def __init__(self) -> None:
        self._said: dict[tuple[str, str], int] = {}  # (period, key) -> highest threshold said

    def check(self, found: Sequence[Budget]) -> list[Alert]:
        alerts = []
        for budget in found:
            reached = budget.threshold
            said = self._said.get((budget.period, budget.key), 0)
            if reached <= said:
                continue
            self._said[(budget.period, budget.key)] = reached
            event = "budget.exceeded" if reached >= 100 else "budget.warning"
            alerts.append(Alert(event, budget.period, reached, budget.sentence()))
        # A period that has been followed by a newer one is never looked at again.
        current = {(b.period, b.key) for b in found}
        periods = {b.period for b in found}
        for old in [k for k in self._said if k not in current and k[0] in periods]:
            del self._said[old]
        return alerts
