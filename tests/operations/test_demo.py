import json
import time

from telemetry.operations.demo_worker import DemoHandle


def test_the_demo_runs_several_real_operations_some_failing_one_stubborn_until_stopped(tmp_path):
    demo = DemoHandle(
        tmp_path / "events", None, workers=4, task_ids=["T-1"], seconds=(2, 3)
    ).start()
    try:
        deadline = time.monotonic() + 20
        events: list[dict] = []
        while time.monotonic() < deadline:
            log = tmp_path / "events" / "operations.jsonl"
            events = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
            names = {e["event"] for e in events}
            if {"operation.failed", "operation.completed"} <= names:
                break
            time.sleep(0.2)
        started = [e for e in events if e["event"] == "operation.started"]
        assert len(started) >= 4 and all(e["pid"] and e["pid_started_at"] for e in started)
        assert {"operation.routing", "operation.progress", "operation.cost"} <= {
            e["event"] for e in events
        }
        assert {"operation.failed", "operation.completed"} <= {e["event"] for e in events}
        assert "stubborn" in demo.procs.values()
        procs = list(demo.procs)
    finally:
        demo.stop()
    assert all(p.poll() is not None for p in procs)
