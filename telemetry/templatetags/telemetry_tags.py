from __future__ import annotations

import math
from collections.abc import Callable

from django import template

from telemetry import service
from telemetry.figures import figures_context

register = template.Library()


def _number_filter(
    name: str, text: Callable[[float, int | None], str], fallback: str, none: str | None = None
) -> None:
    """Register a filter that formats a number, and never fails on anything else: `none` for
    None (when given), `fallback` for what is not a finite number."""

    def number(value: object, arg: int | None = None) -> str:
        if value is None and none is not None:
            return none
        try:
            x = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return fallback
        return text(x, arg) if math.isfinite(x) else fallback

    register.filter(name, number)


# Dollars with cents, as FR-M5 asks: `$3.53` (no thousands separator: easy to parse).
_number_filter("usd", lambda x, _: f"${x:.2f}", "$0.00")
# Small per-invocation amounts: `$0.0042`.
_number_filter("usd_fine", lambda x, _: f"${x:.4f}", "$0.0000")
_number_filter("pct", lambda x, d: f"{100 * x:.{1 if d is None else int(d)}f}%", "–", none="–")
_number_filter("ms", lambda x, _: f"{x:,.0f} ms", "–", none="–")


@register.filter
def count(value: object) -> str:
    try:
        return f"{int(value):,}"  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return "0"


@register.filter
def get_item(mapping: object, key: object) -> object:
    """mapping[key], or None: `{{ today_by_agent|get_item:name }}`."""
    try:
        return mapping.get(key)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        return None


@register.simple_tag
def telemetry_view(stats: dict | None = None) -> dict:
    """figures_context() of `stats` (a get_stats() dict), or of the live service's figures."""
    return figures_context(stats or service.get_stats())


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
