from telemetry.operations import book as book_module
from telemetry.operations.book import OperationsBook
from telemetry.operations.events import parse_event

T0 = 1_770_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0 + 1000

    def __call__(self) -> float:
        return self.now


def feed(book: OperationsBook, **obj):
    if "run_id" not in obj:
        obj.setdefault("operation_id", "op1")
    return book.apply(parse_event(obj, book._clock()))


def make() -> tuple[OperationsBook, Clock]:
    clock = Clock()
    return OperationsBook(clock), clock


def test_a_whole_operation_goes_from_start_to_completed():
    book, _ = make()
    items = feed(
        book,
        event="operation.started",
        ts=T0,
        agent="dev",
        task_id="T-1",
        tool="aider",
        model="gpt-4o",
        pid=99,
        pid_started_at=5.5,
    )
    assert [i.event for i in items] == ["operation.started"]
    feed(
        book,
        event="operation.routing",
        ts=T0 + 1,
        selected="claude",
        reason="long context",
        alternatives=[{"model": "gpt-4o", "score": 0.5, "cost_per_1k": 0.01}],
    )
    feed(
        book,
        event="operation.progress",
        ts=T0 + 2,
        step="edit",
        percent=40,
        message="half",
        output=["a", "b"],
    )
    feed(
        book,
        event="operation.cost",
        ts=T0 + 3,
        prompt_tokens=100,
        completion_tokens=20,
        cost_usd=0.5,
    )
    op = book.get("op1")
    assert op["status"] == "running" and op["model"] == "claude"
    assert op["routing"]["alternatives"][0]["model"] == "gpt-4o"
    assert op["progress"] == {"step": "edit", "percent": 40.0, "message": "half"}
    assert op["output"] == ["a", "b"]
    assert (op["prompt_tokens"], op["completion_tokens"], op["cost_usd"]) == (100, 20, 0.5)
    items = feed(book, event="operation.completed", ts=T0 + 4, result_summary="done")
    assert [i.event for i in items] == ["operation.completed"]
    op = book.get("op1")
    assert op["status"] == "completed" and op["elapsed_s"] == 4.0
    assert book.listing()["recent"][0]["id"] == "op1" and book.listing()["active"] == []


def test_failed_and_stopped_events_end_the_operation():
    book, _ = make()
    feed(book, event="execution_start", run_id="a")
    feed(book, event="execution_error", run_id="a", error="boom password=hunter2")
    feed(book, event="operation.started", operation_id="b")
    feed(book, event="operation.stopped", operation_id="b", how="cooperative")
    assert book.get("a")["status"] == "failed" and "hunter2" not in book.get("a")["error"]
    assert book.get("b")["status"] == "stopped" and book.get("b")["how"] == "cooperative"


def test_an_event_seen_twice_counts_once():
    book, _ = make()
    feed(book, event="operation.started", event_id="e1")
    feed(book, event="operation.progress", event_id="e2", output=["once"])
    feed(book, event="operation.progress", event_id="e2", output=["once"])
    assert book.get("op1")["output"] == ["once"]
    assert book.duplicates == 1


def test_events_out_of_order_keep_the_latest_values_and_a_sorted_timeline():
    book, _ = make()
    feed(book, event="operation.cost", ts=T0 + 5, prompt_tokens=500, cost_usd=2.0)
    feed(book, event="operation.started", ts=T0, agent="dev")
    feed(book, event="operation.cost", ts=T0 + 2, prompt_tokens=100, cost_usd=0.5)
    feed(book, event="operation.completed", ts=T0 + 9)
    feed(book, event="operation.progress", ts=T0 + 3, output=["late"])
    op = book.get("op1")
    assert op["cost_usd"] == 2.0 and op["prompt_tokens"] == 500
    assert op["status"] == "completed"  # a late progress does not revive it
    assert [e["event"] for e in op["timeline"]][:3] == [
        "operation.started",
        "operation.cost",
        "operation.progress",
    ]


def test_an_event_for_an_operation_never_started_makes_a_placeholder_filled_later():
    book, _ = make()
    feed(book, event="operation.progress", ts=T0 + 5, operation_id="ghost", output=["hi"])
    assert book.get("ghost")["placeholder"] is True and book.get("ghost")["status"] == "running"
    items = feed(book, event="operation.started", ts=T0, operation_id="ghost", agent="dev")
    op = book.get("ghost")
    assert op["placeholder"] is False and op["agent"] == "dev"
    assert op["started_at"].startswith("2026-02-02") and [i.event for i in items] == [
        "operation.started"
    ]


def test_unknown_events_are_kept_in_the_timeline_as_they_came():
    book, _ = make()
    feed(book, event="operation.started")
    feed(book, event="tool.invoked", tool_name="grep", secret="api_key=xyz")
    entry = book.get("op1")["timeline"][-1]
    assert entry["event"] == "tool.invoked" and "tool_name=grep" in entry["text"]
    assert "xyz" not in entry["text"]


def test_secrets_are_masked_in_output_summaries_and_errors():
    book, _ = make()
    feed(book, event="operation.started", prompt_summary="use token=abc123")
    feed(
        book,
        event="operation.progress",
        output=["Authorization: Bearer s3cr3tvalue99", "key sk-abcdefghijklmnop"],
        message="password=pw",
    )
    feed(book, event="operation.completed", result_summary="api_key=zzz")
    text = str(book.get("op1"))
    for secret in ("abc123", "s3cr3tvalue99", "sk-abcdefghijklmnop", "password=pw", "zzz"):
        assert secret not in text


def test_only_the_last_twenty_output_lines_are_kept():
    book, _ = make()
    for i in range(30):
        feed(book, event="operation.progress", ts=T0 + i, output=[f"line {i}"])
    assert book.get("op1")["output"] == [f"line {i}" for i in range(10, 30)]


def test_the_timeline_is_capped_and_keeps_the_start():
    book, _ = make()
    feed(book, event="operation.started", ts=T0)
    for i in range(book_module.TIMELINE + 50):
        feed(book, event="operation.progress", ts=T0 + 1 + i, percent=1)
    timeline = book.get("op1")["timeline"]
    assert len(timeline) == book_module.TIMELINE
    assert timeline[0]["event"] == "operation.started"


def test_history_keeps_the_last_500_ended_operations(monkeypatch):
    monkeypatch.setattr(book_module, "HISTORY", 5)
    book, _ = make()
    for i in range(8):
        feed(book, event="operation.started", operation_id=f"o{i}")
        feed(book, event="operation.completed", operation_id=f"o{i}")
    recent = book.listing()["recent"]
    assert [op["id"] for op in recent] == ["o7", "o6", "o5", "o4", "o3"]
    assert book.get("o0") is None


def test_a_silent_operation_whose_process_is_gone_is_lost_after_ten_minutes():
    book, clock = make()
    clock.now = T0
    feed(book, event="operation.started", ts=T0, operation_id="dead")
    feed(book, event="operation.started", ts=T0, operation_id="alive")
    clock.now = T0 + 599
    assert book.sweep(lambda op: False) == []
    clock.now = T0 + 601
    items = book.sweep(lambda op: op.id == "alive")
    assert [i.operation_id for i in items] == ["dead"] and items[0].event == "operation.lost"
    assert book.get("dead")["status"] == "lost" and book.get("alive")["status"] == "running"
    feed(book, event="operation.progress", operation_id="dead", percent=5)
    assert book.get("dead")["status"] == "running"  # it spoke again


def test_a_stop_request_shows_stopping_and_its_outcome_ends_it_once():
    book, _ = make()
    feed(book, event="operation.started", task_id="T-9")
    assert book.request_stop("nope") is None
    book.request_stop("op1")
    assert book.get("op1")["status"] == "stopping" and book.get("op1")["stop_requested"]
    assert book.stop_requested(["op1", "x"]) == ["op1"]
    items = book.stop_outcome("op1", "interrupted")
    assert [i.event for i in items] == ["operation.stopped"] and items[0].task_id == "T-9"
    assert book.get("op1")["status"] == "interrupted"
    assert book.stop_outcome("op1", "killed") == []  # the first ending wins
    assert book.get("op1")["status"] == "interrupted"


def test_running_tasks_and_costs_per_task_and_agent_come_from_the_operations():
    book, _ = make()
    feed(book, event="operation.started", operation_id="a", task_id="T-1", agent="dev")
    feed(book, event="operation.cost", operation_id="a", cost_usd=1.25, prompt_tokens=10)
    feed(book, event="operation.started", operation_id="b", task_id="T-1", agent="ops")
    feed(book, event="operation.cost", operation_id="b", cost_usd=0.75)
    feed(book, event="operation.completed", operation_id="b")
    assert book.running_tasks() == {"T-1": 1.25}
    costs = book.costs()
    assert costs["tasks"] == [{"task_id": "T-1", "operations": 2, "cost_usd": 2.0, "tokens": 10}]
    assert [r["agent"] for r in costs["agents"]] == ["dev", "ops"]
