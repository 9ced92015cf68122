from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import time
from typing import Any
from urllib.parse import quote

from django import template

register = template.Library()

# An id that cannot travel as one path segment (a slash, a backslash, `.`/`..`, NUL) goes
# base64url-encoded behind this marker; so does any id that starts with the marker itself.
ENCODED_ID_MARK = "~"
_BASE64URL = re.compile("[A-Za-z0-9_-]*")
# Characters XML 1.0 forbids (YAML escapes can put them in titles and ids).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@register.filter
def ago(timestamp: float | None) -> str:
    """'3 min ago', as the card and feed show it; the page's script keeps it current."""
    if _moment(timestamp) is None:
        return ""
    return humanize_age(time.time() - timestamp)  # type: ignore[operator]


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


def _moment(timestamp: float | None) -> dt.datetime | None:
    """The UTC moment, or None outside the years 1 to 9999 that datetime can hold."""
    if not timestamp:
        return None
    try:
        return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


@register.filter
def isotime(timestamp: float | None) -> str:
    moment = _moment(timestamp)
    return moment.isoformat(timespec="seconds") if moment else ""


@register.filter
def exacttime(timestamp: float | None) -> str:
    moment = _moment(timestamp)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def needs_encoding(task_id: str) -> bool:
    return (
        not task_id.strip()
        or "/" in task_id
        or "\\" in task_id
        or "\x00" in task_id
        or task_id.strip() in (".", "..")
        or task_id.startswith(ENCODED_ID_MARK)
    )


def encode_id(task_id: str) -> str:
    raw = base64.urlsafe_b64encode(task_id.encode("utf-8", "surrogatepass")).decode("ascii")
    return ENCODED_ID_MARK + raw.rstrip("=")


def decode_id(segment: str) -> str | None:
    """The id behind an encoded URL segment; None if it is not one we could have made."""
    body = segment[len(ENCODED_ID_MARK) :]
    if not _BASE64URL.fullmatch(body):
        return None
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


@register.filter
def task_url(task_id: str) -> str:
    # Ids may hold dots, colons and spaces; ids that cannot be one path segment are encoded.
    segment = encode_id(task_id) if needs_encoding(task_id) else task_id
    return "/tasks/" + quote(segment, safe="") + "/"


@register.filter
def xml_safe(text: str) -> str:
    return _XML_INVALID.sub("", text)


@register.filter
def hours(value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value} h"


# --- cards and feed entries: short ids, clock times, where a time came from ------------

SHORT_ID_CHARS = 24
# "2026-02-10T0903-", "2026-02-10-", "20260210T090300-": the stamp most slugs start with.
_STAMP_PREFIX = re.compile(r"^\d{4}-?\d{2}-?\d{2}(?:[T_ ]?\d{2}:?\d{2}(?::?\d{2})?)?[-_]")
LANE_TITLES = {"inbox": "Inbox", "assigned": "Assigned", "done": "Done"}
# Statuses that only repeat what the lane says: the card shows no pill for them.
LANE_STATUSES = {
    "inbox": frozenset({"", "new", "inbox", "pending", "todo", "open", "backlog", "ready"}),
    "assigned": frozenset({"", "assigned", "todo", "claimed", "pending", "ready", "open"}),
    "done": frozenset({"", "done", "completed", "complete", "closed", "finished", "resolved"}),
}
PRIORITY_ICONS = {"critical": "‼", "high": "↑", "low": "↓"}


@register.filter
def short_id(task_id: str, agent: str = "") -> str:
    """The telling end of a slug id: no date stamp, no agent name, at most 24 characters.

    `2026-02-10T0903-architect-add-export-endpoint` (agent architect) -> `add-export-endpoint`.
    The full id is on hover and in the detail.
    """
    text = _STAMP_PREFIX.sub("", task_id, count=1)
    if agent and text.startswith(agent + "-") and len(text) > len(agent) + 1:
        text = text[len(agent) + 1 :]
    text = text or task_id
    return text if len(text) <= SHORT_ID_CHARS else text[: SHORT_ID_CHARS - 1] + "…"


@register.filter
def card_id(task: Any) -> str:
    """The short id a card shows; when the slug only repeats the title, its date stamp
    instead (it tells apart two cards of one title)."""
    short = short_id(task.id, task.agent)
    if _slug(short) == _slug(task.title):
        stamp = _STAMP_PREFIX.match(task.id)
        if stamp:
            return stamp.group(0).rstrip("-_")
    return short


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@register.filter
def clock(timestamp: float | None) -> str:
    """`14:02:11` for today (UTC here; the page's script shows the viewer's local time),
    `Feb 10 14:02` for an earlier day."""
    moment = _moment(timestamp)
    if moment is None:
        return ""
    today = dt.datetime.now(dt.timezone.utc).date()
    if moment.date() == today:
        return moment.strftime("%H:%M:%S")
    return (
        moment.strftime("%b %-d %H:%M")
        if moment.year == today.year
        else moment.strftime("%Y-%m-%d %H:%M")
    )


@register.filter
def moment_title(task: Any) -> str:
    """Where a card's time comes from: `completed_at 2026-02-10 12:10:00 UTC`, or the file."""
    when = exacttime(task.moment)
    if task.moment_source:
        return f"{task.moment_source} {when}"
    return f"file modified {when}, no timestamp in the task"


@register.filter
def lane_title(lane: str) -> str:
    return LANE_TITLES.get(lane, lane)


@register.filter
def status_disagrees(task: Any) -> bool:
    """Whether the card shows its status: only when it says more than the lane does."""
    return task.status not in LANE_STATUSES.get(task.lane, frozenset({""}))


@register.filter
def priority_icon(priority: str) -> str:
    return PRIORITY_ICONS.get(priority, "")


@register.filter
def humanize_status(status: str) -> str:
    return status.replace("_", " ")
