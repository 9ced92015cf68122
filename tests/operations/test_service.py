import json
import threading
import time

from telemetry.operations.book import FeedItem

from .helpers import child, register, wait_status


def line(**obj) -> bytes:
    return (json.dumps(obj) + "\n").encode()


def append(path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


class Recorder:
    def __init__(self) -> None:
        self.changes: list[float] = []
        self.feed: list[FeedItem] = []
        self.threads: set[str] = set()

    def on_change(self) -> None:
        self.changes.append(time.monotonic())
        self.threads.add(threading.current_thread().name)

    def on_feed(self, item: FeedItem) -> None:
        self.feed.append(item)


def test_events_appended_to_a_file_reach_the_book_feed_and_on_change(ops, tmp_path):
    rec = Recorder()
    ops.start(tmp_path, rec.on_change, rec.on_feed)
    assert ops.ready.wait(5)
    append(
        tmp_path / "a.jsonl", line(event="execution_start", run_id="r", task_id="T-1", agent="dev")
    )
    assert wait_for(lambda: ops.get("r") is not None)
    assert wait_for(lambda: [i.event for i in rec.feed] == ["operation.started"])
    assert rec.feed[0].task_id == "T-1" and ops.running_tasks() == {"T-1": 0.0}
    assert wait_for(lambda: rec.changes) and rec.threads == {"operations-tailer"}


def test_changes_are_coalesced_to_one_on_change_per_25_ms(ops, tmp_path):
    rec = Recorder()
    ops.start(tmp_path, rec.on_change, rec.on_feed)
    ops.ready.wait(5)
    log = tmp_path / "a.jsonl"
    for i in range(400):
        append(log, line(event="operation.progress", operation_id=f"o{i % 20}", percent=i % 100))
        time.sleep(0.001)
    assert wait_for(lambda: len(ops.listing()["active"]) == 20)
    time.sleep(0.1)
    gaps = [b - a for a, b in zip(rec.changes, rec.changes[1:], strict=False)]
    assert len(rec.changes) < 200 and all(g >= 0.02 for g in gaps)


def test_history_is_read_back_at_start_without_feed_entries(ops, tmp_path):
    log = tmp_path / "a.jsonl"
    append(
        log,
        line(event="operation.started", operation_id="old", agent="dev", ts="2026-02-01T10:00:00Z"),
    )
    append(log, line(event="operation.completed", operation_id="old"))
    append(log, b"not json\n" + line(event="x"))
    rec = Recorder()
    ops.start(tmp_path, rec.on_change, rec.on_feed)
    assert ops.ready.wait(5)
    assert wait_for(lambda: rec.changes)
    assert ops.get("old")["status"] == "completed" and rec.feed == []
    assert sorted(ops.problems(), key=lambda p: p["path"]) == [
        {"path": "a.jsonl:3", "error": "not a JSON object; skipped"},
        {"path": "a.jsonl:4", "error": "x: no 'operation_id' (or 'run_id'); skipped"},
    ]


def test_a_running_operation_whose_start_is_before_the_read_back_window_is_found(ops, tmp_path):
    log = tmp_path / "a.jsonl"
    append(log, line(event="operation.started", operation_id="long", agent="dev", tool="aider"))
    append(
        log,
        b"".join(
            line(event="operation.progress", operation_id="noise", percent=1) for _ in range(5000)
        ),
    )
    append(log, line(event="operation.progress", operation_id="long", percent=50))
    ops.read_back_bytes = 64 * 1024
    ops.start(tmp_path)
    assert ops.ready.wait(5)
    got = ops.get("long")
    assert (
        got["placeholder"] is False and got["agent"] == "dev" and got["progress"]["percent"] == 50
    )


def test_a_stop_from_a_running_service_feeds_operation_stopped(ops, tmp_path):
    rec = Recorder()
    ops.start(tmp_path, rec.on_change, rec.on_feed)
    proc = child()
    try:
        register(ops, "op", proc.pid)
        ops.request_stop("op")
        assert wait_status(ops, "op") == "interrupted"
        assert wait_for(lambda: any(i.event == "operation.stopped" for i in rec.feed))
    finally:
        proc.kill()
        proc.wait()


def test_a_missing_events_dir_is_waited_for(ops, tmp_path):
    folder = tmp_path / "later"
    ops.start(folder)
    assert ops.ready.wait(5) and wait_for(lambda: ops.waiting_for() == str(folder))
    folder.mkdir()
    append(folder / "x.jsonl", line(event="operation.started", operation_id="z"))
    assert wait_for(lambda: ops.get("z") is not None) and ops.waiting_for() is None


def test_read_back_applied_newest_first_gives_the_same_state_as_in_order(ops, tmp_path):
    log = tmp_path / "a.jsonl"
    append(log, line(event="operation.started", operation_id="o", agent="dev"))
    for i in range(30):
        append(
            log, line(event="operation.progress", operation_id="o", step=f"s{i}", output=[f"l{i}"])
        )
    append(log, line(event="operation.cost", operation_id="o", cost_usd=1.0))
    append(log, line(event="operation.cost", operation_id="o", cost_usd=2.0))
    append(log, line(event="operation.completed", operation_id="o"))
    ops.start(tmp_path)
    assert ops.ready.wait(5)
    got = ops.get("o")
    assert got["status"] == "completed" and got["cost_usd"] == 2.0
    assert got["progress"]["step"] == "s29" and got["output"] == [f"l{i}" for i in range(10, 30)]
    assert got["timeline"][0]["event"] == "operation.started"


def test_an_idle_tailer_is_woken_by_the_events_dir_changing_not_by_fast_polling(ops, tmp_path):
    ops.start(tmp_path)
    assert ops.ready.wait(5)
    time.sleep(1.5)  # quiet: the tailer now looks only once a second unless inotify wakes it
    assert ops._wakeup is not None and ops._wakeup.active
    samples = []
    for n in range(5):
        written = time.monotonic()
        append(tmp_path / "a.jsonl", line(event="operation.started", operation_id=f"op-{n}"))
        assert wait_for(lambda n=n: ops.get(f"op-{n}") is not None, timeout=2)
        samples.append(time.monotonic() - written)
        time.sleep(1.2)  # quiet again before the next one
    assert max(samples) < 0.5  # well under the 1 s safety poll: the watch woke it


def test_a_replaced_events_dir_is_watched_again(ops, tmp_path):
    events = tmp_path / "events"
    events.mkdir()
    ops.start(events)
    assert ops.ready.wait(5)
    time.sleep(1.5)
    events.rename(tmp_path / "old-events")
    events.mkdir()
    append(events / "b.jsonl", line(event="operation.started", operation_id="after"))
    assert wait_for(lambda: ops.get("after") is not None, timeout=5)
