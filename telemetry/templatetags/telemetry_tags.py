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
        bar["href"] = (
            (
                f"{changelist}?timestamp__year={d.year}&timestamp__month={d.month}"
                f"&timestamp__day={d.day}"
            )
            if changelist
            else ""
        )
    slices = model_slices(stats["models"])
    for s in slices:
        s["href"] = (
            f"{changelist}?{urlencode({'model': s['model']})}"
            if changelist and not s["other"]
            else changelist
        )
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


@register.inclusion_tag("admin/date_hierarchy.html")
def telemetry_date_hierarchy(cl) -> dict:  # type: ignore[no-untyped-def]
    """Django's date_hierarchy markup, with its choices taken from the in-memory per-day sums.

    Why: the stock tag asks SQLite for MIN/MAX and DISTINCT truncated dates, which on a text
    column means a Python function call per row (20 s at a million rows). The choices here
    ignore the other active filters; the filtering itself is still Django's own.
    """
    import datetime as dt

    from django.utils import formats
    from django.utils.text import capfirst

    field = cl.date_hierarchy
    year_f, month_f, day_f = f"{field}__year", f"{field}__month", f"{field}__day"
    year, month, day = (cl.params.get(f) for f in (year_f, month_f, day_f))
    days = sorted(dt.date.fromisoformat(d) for d in service.service.days())

    def link(filters: dict) -> str:
        return cl.get_query_string(filters, [f"{field}__"])

    if not year and days and days[0].year == days[-1].year:
        year = str(days[0].year)
        if days[0].month == days[-1].month:
            month = str(days[0].month)
    if year and month and day:
        d = dt.date(int(year), int(month), int(day))
        return {
            "show": True,
            "back": {
                "link": link({year_f: year, month_f: month}),
                "title": capfirst(formats.date_format(d, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT"))}],
        }
    if year and month:
        picked = [d for d in days if d.year == int(year) and d.month == int(month)]
        return {
            "show": True,
            "back": {"link": link({}), "title": "All dates"}
            if not cl.params.get(year_f)
            else {"link": link({year_f: year}), "title": str(year)},
            "choices": [
                {
                    "link": link({year_f: year, month_f: month, day_f: d.day}),
                    "title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT")),
                }
                for d in picked
            ],
        }
    if year:
        months = sorted({d.replace(day=1) for d in days if d.year == int(year)})
        return {
            "show": True,
            "back": {"link": link({}), "title": "All dates"},
            "choices": [
                {
                    "link": link({year_f: year, month_f: m.month}),
                    "title": capfirst(formats.date_format(m, "YEAR_MONTH_FORMAT")),
                }
                for m in months
            ],
        }
    years = sorted({d.year for d in days})
    return {
        "show": bool(years),
        "choices": [{"link": link({year_f: str(y)}), "title": str(y)} for y in years],
    }
