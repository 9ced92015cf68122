import pytest

from telemetry.operations.events import MAX_LINE, EventError, parse_event

NOW = 1_770_000_000.0


def test_every_adr_alias_maps_to_its_contract_name():
    pairs = {
        "execution_start": "operation.started",
        "routing_decision": "operation.routing",
        "execution_progress": "operation.progress",
        "cost_update": "operation.cost",
        "execution_complete": "operation.completed",
        "execution_error": "operation.failed",
        "execution.start": "operation.started",
        "routing.decision": "operation.routing",
    }
    for alias, name in pairs.items():
        assert parse_event({"event": alias, "operation_id": "o"}, NOW).name == name


def test_run_id_is_accepted_for_operation_id():
    assert parse_event({"event": "x", "run_id": "r-7"}, NOW).operation_id == "r-7"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([1, 2], "JSON object"),
        ({"operation_id": "o"}, "no 'event'"),
        ({"event": 5, "operation_id": "o"}, "must be text"),
        ({"event": "operation.started"}, "operation_id"),
        ({"event": "operation.started", "operation_id": {"a": 1}}, "operation_id"),
    ],
)
def test_an_unusable_event_is_refused_with_a_reason(obj, reason):
    with pytest.raises(EventError, match=reason):
        parse_event(obj, NOW)


def test_numbers_given_as_text_are_coerced_and_nonsense_dropped_with_a_note():
    event = parse_event(
        {
            "event": "cost_update",
            "operation_id": "o",
            "prompt_tokens": "120",
            "completion_tokens": "many",
            "cost_usd": -3,
            "percent": 250,
        },
        NOW,
    )
    assert event.fields["prompt_tokens"] == 120.0
    assert "completion_tokens" not in event.fields and "cost_usd" not in event.fields
    assert event.fields["percent"] == 100.0
    assert any("completion_tokens" in n for n in event.notes)


def test_a_bad_ts_uses_the_time_received_and_says_so():
    event = parse_event({"event": "x", "operation_id": "o", "ts": "yesterday"}, NOW)
    assert event.ts == NOW
    assert "ISO 8601" in event.notes[0]


def test_ten_megabytes_of_output_keep_only_the_last_lines_truncated():
    big = ("x" * 5000 + "\n") * 2000 + "last line"
    event = parse_event({"event": "operation.progress", "operation_id": "o", "output": big}, NOW)
    lines = event.fields["output"]
    assert len(lines) <= 20 and lines[-1] == "last line"
    assert all(len(line) <= MAX_LINE for line in lines)
    one_line = parse_event(
        {"event": "operation.progress", "operation_id": "o", "output": "y" * 10_000_000}, NOW
    )
    assert len(one_line.fields["output"][0]) <= MAX_LINE
