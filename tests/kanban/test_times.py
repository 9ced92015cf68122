import datetime as dt

import pytest
import yaml

from kanban.times import parse_moment, task_moment

UTC = dt.timezone.utc


def ts(*args):
    return dt.datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("completed_at: 2026-02-10T12:10:00Z", ts(2026, 2, 10, 12, 10)),
        ("completed_at: '2026-02-09 21:40:15+00:00'", ts(2026, 2, 9, 21, 40, 15)),
        ("completed_at: '2025-11-24T17:56:16.898053Z'", ts(2025, 11, 24, 17, 56, 16, 898053)),
        ("completed_at: 2026-02-08T06:32", ts(2026, 2, 8, 6, 32)),
        ('completed_at: "2026-02-06T12:00:00+05:30"', ts(2026, 2, 6, 6, 30)),
        ("completed_at: 2026-02-06", ts(2026, 2, 6)),
    ],
)
def test_it_reads_the_timestamp_shapes_real_files_use(text, expected):
    data = yaml.safe_load(text)
    assert task_moment(data, "done") == (expected, "completed_at")


@pytest.mark.parametrize("value", ["soon", "", "9999-12-31T23:59:59-12:00", 12, None, [1]])
def test_nonsense_and_out_of_range_times_are_no_time(value):
    assert parse_moment(value) is None


def test_the_lane_decides_which_time_counts():
    data = {
        "created_at": "2026-01-01T00:00:00Z",
        "assigned_at": "2026-01-02T00:00:00Z",
        "started_at": "2026-01-03T00:00:00Z",
        "completed_at": "2026-01-04T00:00:00Z",
    }
    assert task_moment(data, "inbox") == (ts(2026, 1, 1), "created_at")
    assert task_moment(data, "assigned") == (ts(2026, 1, 3), "started_at")
    assert task_moment(data, "done") == (ts(2026, 1, 4), "completed_at")


def test_a_nested_result_completion_time_counts():
    data = {"created": "2026-01-01T00:00:00Z", "result": {"completed_at": "2026-01-05T10:00:00Z"}}
    assert task_moment(data, "done") == (ts(2026, 1, 5, 10), "result.completed_at")


def test_a_file_without_any_time_says_so():
    assert task_moment({"id": "x", "title": "no dates"}, "done") == (None, "")
