from __future__ import annotations

import datetime as dt
import time
from urllib.parse import quote

from django import template

register = template.Library()


@register.filter
def ago(timestamp: float | None) -> str:
    """'3 min ago', as the card and feed show it; the page's script keeps it current."""
    if not timestamp:
        return ""
    return humanize_age(time.time() - timestamp)


def humanize_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"{hours} h ago"
    return f"{round(seconds / 86400)} days ago"


@register.filter
def isotime(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(timespec="seconds")


@register.filter
def exacttime(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    moment = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@register.filter
def task_url(task_id: str) -> str:
    # Ids may hold dots, colons and spaces; slashes are encoded so the id stays one segment.
    return "/tasks/" + quote(task_id, safe="") + "/"


@register.filter
def hours(value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value} h"
