"""Timestamps as telemetry writers really store them (CONTRACT section 7).

ISO 8601 with `T` or a space, with or without a fraction (any number of digits) and an offset
(`Z`, `+02:00`, `+0200`, `+02`); no offset means UTC. Plain Python, no Django.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

UTC = timezone.utc

# Python 3.10's fromisoformat rejects `Z`, fractions other than 3 or 6 digits and `+0200`;
# 3.11 accepts most of them. We try the fast C parser first and fall back to this.
_ISO = re.compile(
    r"""^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})
    (?:[Tt\s]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?
    \s*(?P<tz>[Zz]|UTC|[+-]\d{2}(?::?\d{2})?)?$""",
    re.VERBOSE,
)


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime, or None when the value is not a timestamp we understand.

    Numbers are taken as Unix seconds (some writers store `time.time()`).
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip()
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _parse_slow(text)
        if parsed is None:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # 0001-01-01T00:00+05:00 is before year 1 in UTC
        return None


def _parse_slow(text: str) -> datetime | None:
    m = _ISO.match(text)
    if m is None:
        return None
    fraction = (m["f"] or "0")[:6].ljust(6, "0")
    try:
        result = datetime(
            int(m["y"]),
            int(m["mo"]),
            int(m["d"]),
            int(m["h"] or 0),
            int(m["mi"] or 0),
            int(m["s"] or 0),
            int(fraction),
        )
    except ValueError:
        return None
    tz = m["tz"]
    if tz and tz.upper() not in ("Z", "UTC"):
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            return None
        result = result.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return result


def utc_text(value: object) -> str | None:
    """The canonical text the drill-down's SQL view uses: naive UTC `YYYY-MM-DD HH:MM:SS.fff`.

    Registered as an SQLite function for the shapes SQLite's own strftime cannot read.
    """
    parsed = parse_timestamp(value)
    if parsed is None:
        return None
    return parsed.strftime("%Y-%m-%d %H:%M:%S.") + f"{parsed.microsecond // 1000:03d}"
