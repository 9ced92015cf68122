import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from telemetry.operations.producer import main, operation

from .helpers import tiny_dashboard

REPO = Path(__file__).resolve().parents[2]


def read_events(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "operations.jsonl").read_text().splitlines()]


def test_importing_the_producer_does_not_import_django():
    code = (
        "import sys, telemetry.operations.producer as p\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'channels', 'daphne')]\n"
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.strip() == "[]"


def test_an_operation_writes_one_line_per_event_with_its_pid_and_start_time(tmp_path):
    with operation(
        tool="aider", model="gpt-4o", task_id="T-1", agent="dev", events_dir=tmp_path, url=""
    ) as op:
        op.routing("gpt-4o", reason="cheap", alternatives=[{"model": "claude", "score": 0.5}])
        op.progress(percent=50, message="half", output=["a", "b"])
        op.cost(100, 20, 0.01)
    events = read_events(tmp_path)
    assert [e["event"] for e in events] == [
        "operation.started",
        "operation.routing",
        "operation.progress",
        "operation.cost",
        "operation.completed",
    ]
    start = events[0]
    assert start["pid"] == os.getpid()
    assert abs(start["pid_started_at"] - psutil.Process().create_time()) < 0.01
    assert {e["operation_id"] for e in events} == {op.id}
    assert len({e["event_id"] for e in events}) == 5


def test_an_exception_reports_failed_and_is_raised_again(tmp_path):
    with pytest.raises(ValueError), operation(events_dir=tmp_path, url="") as op:
        raise ValueError("bad input")
    assert read_events(tmp_path)[-1] == {
        **read_events(tmp_path)[-1],
        "event": "operation.failed",
        "error": "ValueError: bad input",
    }
    assert op.ended


def test_a_keyboard_interrupt_reports_stopped(tmp_path):
    with pytest.raises(KeyboardInterrupt), operation(events_dir=tmp_path, url=""):
        raise KeyboardInterrupt
    last = read_events(tmp_path)[-1]
    assert last["event"] == "operation.stopped" and last["how"] == "interrupted"


def test_events_posted_to_the_dashboard_carry_the_token_and_learn_of_a_stop(ops, tmp_path):
    seen: list = []
    with (
        tiny_dashboard(ops, seen) as url,
        operation(tool="t", agent="dev", events_dir=tmp_path, url=url, token="s3cret") as op,
    ):
        op.progress(percent=10)
        op.sink.flush()
        assert ops.get(op.id)["agent"] == "dev"
        ops.request_stop(op.id)
        op.progress(percent=20)
        op.sink.flush()
        assert op.stop_requested
    assert ops.get(op.id)["status"] == "stopped"  # it ended itself, reporting it
    assert {s["auth"] for s in seen} == {"Bearer s3cret"}
    assert [e["event"] for e in read_events(tmp_path)][-1] == "operation.stopped"  # on disk too


def test_a_dashboard_that_is_down_never_fails_the_producer(tmp_path, capsys):
    with operation(events_dir=tmp_path, url="http://127.0.0.1:9") as op:
        op.progress(percent=1)
    assert read_events(tmp_path)[-1]["event"] == "operation.completed"
    assert "not reachable" in capsys.readouterr().err


def test_the_cli_prints_the_id_and_reports_each_step(tmp_path, capsys):
    common = ["--events-dir", str(tmp_path), "--url", ""]
    assert main(["start", "--tool", "aider", "--model", "gpt-4o", "--task-id", "T-1", *common]) == 0
    op_id = capsys.readouterr().out.strip()
    main(
        [
            "routing",
            op_id,
            "--selected",
            "gpt-4o",
            "--reason",
            "cheap",
            "--alternative",
            "claude:0.7:0.015",
            *common,
        ]
    )
    main(["progress", op_id, "--percent", "50", "--output", "one", "--output", "two", *common])
    main(
        [
            "cost",
            op_id,
            "--prompt-tokens",
            "10",
            "--completion-tokens",
            "5",
            "--cost-usd",
            "0.002",
            *common,
        ]
    )
    main(["end", op_id, "--status", "failed", "--error", "boom", *common])
    events = read_events(tmp_path)
    assert [e["event"] for e in events] == [
        "operation.started",
        "operation.routing",
        "operation.progress",
        "operation.cost",
        "operation.failed",
    ]
    assert events[0]["pid"] == os.getppid()  # the calling shell is the process Stop may signal
    assert events[1]["alternatives"] == [{"model": "claude", "score": 0.7, "cost_per_1k": 0.015}]
    assert events[2]["output"] == ["one", "two"]


def test_the_cli_runs_as_a_module_from_a_shell(tmp_path):
    env = {**os.environ, "DASHBOARD_EVENTS_DIR": str(tmp_path), "DASHBOARD_URL": ""}
    script = (
        f"id=$({sys.executable} -m telemetry.operations.producer start --tool sh --agent bot)\n"
        f'{sys.executable} -m telemetry.operations.producer end "$id" --summary ok\n'
        'echo "$id"\n'
    )
    out = subprocess.run(
        ["bash", "-c", script], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    events = read_events(tmp_path)
    assert out.stdout.strip() == events[0]["operation_id"] == events[1]["operation_id"]
    assert events[1]["result_summary"] == "ok"


def test_what_the_producer_writes_the_book_reads(ops, tmp_path):
    from telemetry.operations.tailer import Tailer

    with operation(
        tool="aider", model="m", task_id="T-2", agent="dev", events_dir=tmp_path, url=""
    ) as op:
        op.output(["api_key=sk-abcdefghijkl", "ok"])
        op.cost(1, 2, 0.5)
    for line in Tailer(tmp_path).start():
        ops._take_line(line)
    got = ops.get(op.id)
    assert got["status"] == "completed" and got["cost_usd"] == 0.5 and got["task_id"] == "T-2"
    assert "sk-abcdefghijkl" not in str(got["output"])
