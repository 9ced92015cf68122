from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import time
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
