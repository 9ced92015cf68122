from __future__ import annotations

from django import template

from ..status import format_duration

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    return format_duration(seconds)


@register.filter
def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


@register.filter
def mb(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} MB"


@register.filter
def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"
