from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import NoReverseMatch, reverse

from telemetry import service
from telemetry.charts import daily_bars, model_slices

register = template.Library()


@register.filter
def usd(value: object) -> str:
    """Dollars with cents, as FR-M5 asks: `$3.53` (no thousands separator: easy to parse)."""
    try:
        return f"${float(value):.2f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "$0.00"


@register.filter
def usd_fine(value: object) -> str:
    """Small per-invocation amounts: `$0.0042`."""
    try:
        return f"${float(value):.4f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "$0.0000"


@register.filter
def pct(value: object, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{100 * float(value):.{int(digits)}f}%"  # type: ignore[arg-type]


@register.filter
def ms(value: object) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.0f} ms"  # type: ignore[arg-type]


@register.filter
def count(value: object) -> str:
    try:
        return f"{int(value):,}"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return "0"


def _changelist() -> str:
    try:
        return reverse("telemetry:telemetry_invocation_changelist")
    except NoReverseMatch:
        return ""


@register.simple_tag
def telemetry_view(stats: dict | None = None) -> dict:
    """Everything the fragments show, from `stats` (a get_stats() dict) or the live service."""
    if not stats:
        stats = service.get_stats()
    changelist = _changelist()
    chart = daily_bars(stats["daily"])
    for bar in chart["bars"]:
        d = bar["day"]
        bar["href"] = (f"{changelist}?timestamp__year={d.year}&timestamp__month={d.month}"
                       f"&timestamp__day={d.day}") if changelist else ""
    slices = model_slices(stats["models"])
    for s in slices:
        s["href"] = (f"{changelist}?{urlencode({'model': s['model']})}"
                     if changelist and not s["other"] else changelist)
    try:
        export = reverse("telemetry:telemetry_stats_csv"), reverse("telemetry:telemetry_stats_json")
        index = reverse("telemetry:index")
    except NoReverseMatch:
        export, index = ("", ""), ""
    state = stats["state"]
    return {
        "stats": stats,
        "state": state,
        "loading": state == "loading",
        "empty": stats["invocations"] == 0 and state != "loading",
        "daily": chart,
        "slices": slices,
        "changelist": changelist,
        "index": index,
        "export_csv": export[0],
        "export_json": export[1],
    }
