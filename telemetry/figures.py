"""What the costs fragments show, computed from a get_stats() dict (the Django edge: URLs)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from .budgets import budgets, worst_level
from .charts import daily_bars, model_slices

SCHEMA_NAMES = {
    "llm": "llm-service 1.0.0 (invocations with agent_name, cost_usd, total_tokens)",
    "spec": "the spec's (invocations with tool, model, tokens, cost; no agents)",
}


def _reverse(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def figures_context(stats: dict) -> dict[str, Any]:
    """Everything templates/telemetry/fragments.html needs besides `stats` itself."""
    changelist = _reverse("telemetry:telemetry_invocation_changelist")
    chart = daily_bars(stats["daily"])
    for bar in chart["bars"]:
        d = bar["day"]
        bar["href"] = (
            f"{changelist}?timestamp__year={d.year}&timestamp__month={d.month}"
            f"&timestamp__day={d.day}"
            if changelist
            else ""
        )
    slices = model_slices(stats["models"], stats.get("models_more"))
    for s in slices:
        filtered = changelist and not s["other"] and not s.get("truncated")
        s["href"] = f"{changelist}?{urlencode({'model': s['model']})}" if filtered else changelist
    state = stats["state"]
    # "—" rather than "$0.00" when the costs are not known: $0 reads as "free".
    unavailable = state == "missing" or (state == "error" and not stats.get("updated_at"))
    found = budgets(
        stats,
        getattr(settings, "DASHBOARD_BUDGET_DAILY", None),
        getattr(settings, "DASHBOARD_BUDGET_MONTHLY", None),
    )
    by_period = {b.period: b for b in found}
    today_by_agent = {a["agent"]: a for a in stats.get("agents_today", [])}
    return {
        "stats": stats,
        "state": state,
        "loading": state == "loading",
        "unavailable": unavailable,
        "known": state not in ("loading",) and not unavailable,
        "empty": stats["invocations"] == 0 and state != "loading",
        "budgets": found,
        "budget_day": by_period.get("day"),
        "budget_month": by_period.get("month"),
        "budget_level": worst_level(found),
        "alerts": [b for b in found if b.level != "ok"],
        "today_by_agent": today_by_agent,
        "counted": counted_context(stats),
        "daily": chart,
        "slices": slices,
        "changelist": changelist,
        "index": _reverse("telemetry:index"),
        "export_csv": _reverse("telemetry:telemetry_stats_csv"),
        "export_json": _reverse("telemetry:telemetry_stats_json"),
    }


def counted_context(stats: dict) -> dict[str, Any]:
    """What the figures are made of: the "what was counted" note under the costs."""
    n = stats["invocations"]
    zero_cost = stats.get("null_costs", 0) + stats.get("negative_costs", 0)
    return {
        "rows": n,
        "null_costs": stats.get("null_costs", 0),
        "negative_costs": stats.get("negative_costs", 0),
        "odd_values": stats.get("odd_values", 0),
        "undated": stats.get("undated", 0),
        "future": stats.get("future_rows", 0),
        "zero_cost": zero_cost,
        "clean": not (zero_cost or stats.get("odd_values") or stats.get("undated"))
        and not stats.get("future_rows"),
        "schema": SCHEMA_NAMES.get(stats.get("schema") or "", "not detected yet"),
        "time_zone": stats.get("time_zone", "UTC"),
    }
