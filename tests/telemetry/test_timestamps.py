from datetime import datetime, timezone

import pytest

from telemetry.timestamps import parse_timestamp, utc_text

UTC = timezone.utc
NOON = datetime(2026, 2, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-06T12:00:00",
        "2026-02-06 12:00:00",
        "2026-02-06T12:00",
        "2026-02-06T12:00:00Z",
        "2026-02-06T12:00:00z",
        "2026-02-06T12:00:00+00:00",
        "2026-02-06T14:00:00+02:00",
        "2026-02-06T14:00:00+0200",
        "2026-02-06T14:00:00+02",
        "2026-02-06 06:30:00-05:30",
        "2026-02-06T12:00:00 UTC",
        "  2026-02-06T12:00:00  ",
    ],
)
def test_every_shape_of_the_same_instant_reads_as_that_instant(text):
    assert parse_timestamp(text) == NOON


@pytest.mark.parametrize(
    "text, micro",
    [
        ("2026-02-06T12:00:00.5", 500_000),
        ("2026-02-06 12:00:00.123", 123_000),
        ("2026-02-06T12:00:00.123456Z", 123_456),
        ("2026-02-06T12:00:00.1234567+00:00", 123_456),
        ("2026-02-06T12:00:00,25", 250_000),
    ],
)
def test_fractions_of_any_length_are_read(text, micro):
    assert parse_timestamp(text) == NOON.replace(microsecond=micro)


def test_a_timestamp_without_an_offset_is_utc():
    assert parse_timestamp("2026-02-06 23:59:59").tzinfo == UTC
    assert parse_timestamp("2026-02-06 23:59:59") == datetime(2026, 2, 6, 23, 59, 59, tzinfo=UTC)


def test_a_date_alone_is_its_midnight_utc():
    assert parse_timestamp("2026-02-06") == datetime(2026, 2, 6, tzinfo=UTC)


def test_unix_seconds_are_read():
    assert parse_timestamp(1770379200) == NOON


@pytest.mark.parametrize(
    "junk", [None, "", "yesterday", "2026-13-45T00:00:00", "2026-02-06T12:00:00+99:00", b"\xff"]
)
def test_what_is_not_a_timestamp_is_none(junk):
    assert parse_timestamp(junk) is None


def test_the_drill_down_text_is_naive_utc_with_milliseconds():
    assert utc_text("2026-02-06T14:00:00.1234+0200") == "2026-02-06 12:00:00.123"
    assert utc_text("nonsense") is None
