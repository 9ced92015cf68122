"""What the costs fragments show, computed from a get_stats() dict (the Django edge: URLs)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

from .charts import daily_bars, model_slices


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
    return {
        "stats": stats,
        "state": state,
        "loading": state == "loading",
        "empty": stats["invocations"] == 0 and state != "loading",
        "daily": chart,
        "slices": slices,
        "changelist": changelist,
        "index": _reverse("telemetry:index"),
        "export_csv": _reverse("telemetry:telemetry_stats_csv"),
        "export_json": _reverse("telemetry:telemetry_stats_json"),
    }
