import os
import subprocess
import sys
import time

import psutil
import pytest

from telemetry.operations.stopper import find_process

from .helpers import IGNORE_INT, IGNORE_TERM, child, register, tiny_dashboard, wait_status


@pytest.fixture
def children():
    made = []

    def make(setup: str = ""):
        proc = child(setup)
        made.append(proc)
        return proc

    yield make
    for proc in made:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_process_that_exits_on_sigint_shows_interrupted(ops, children):
    proc = children()
    register(ops, "op", proc.pid)
    assert ops.request_stop("op")["action"] == "signalling"
    assert ops.get("op")["status"] == "stopping"
    assert wait_status(ops, "op") == "interrupted"
    assert proc.wait(5) != 0


def test_a_process_ignoring_sigint_is_terminated(ops, children):
    proc = children(IGNORE_INT)
    register(ops, "op", proc.pid)
    ops.request_stop("op")
    assert wait_status(ops, "op") == "terminated"
    assert proc.wait(5) == -15


def test_a_process_ignoring_sigint_and_sigterm_is_killed(ops, children):
    proc = children(IGNORE_INT + "; " + IGNORE_TERM)
    register(ops, "op", proc.pid)
    ops.request_stop("op")
    assert wait_status(ops, "op") == "killed"
    assert proc.wait(5) == -9


def shell_with_child(script: str) -> tuple[subprocess.Popen, psutil.Process]:
    """A shell producer (as a shell script registering itself) and the work it started."""
    shell = subprocess.Popen(["sh", "-c", script])
    deadline = time.monotonic() + 5
    while not (kids := psutil.Process(shell.pid).children()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert kids, "the shell started no child"
    return shell, kids[0]


@pytest.mark.parametrize(
    ("script", "outcome"),
    [
        ("sleep 300; exit 0", "interrupted"),  # the work in the foreground
        ("sleep 300 & wait", "terminated"),  # a background job: it ignores SIGINT
    ],
)
def test_stop_reaches_the_work_a_shell_producer_started(ops, script, outcome):
    shell, work = shell_with_child(script)
    try:
        register(ops, "op", shell.pid)
        ops.request_stop("op")
        assert wait_status(ops, "op") == outcome
        shell.wait(5)
        assert not work.is_running() or work.status() == psutil.STATUS_ZOMBIE
    finally:
        for proc in psutil.Process().children(recursive=True):
            if proc.pid == work.pid:
                proc.kill()
        if shell.poll() is None:
            shell.kill()
        shell.wait()


def test_a_producer_that_ends_itself_on_the_cooperative_flag_shows_stopped(ops, tmp_path):
    import subprocess

    with tiny_dashboard(ops) as url:
        script = (
            "import time\n"
            "from telemetry.operations.producer import operation\n"
            f"with operation(operation_id='coop', events_dir={str(tmp_path)!r},\n"
            f"               url={url!r}) as op:\n"
            "    print('ready', flush=True)\n"
            "    while not op.stop_requested:\n"
            "        time.sleep(0.05)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 10
            while ops.get("coop") is None and time.monotonic() < deadline:
                time.sleep(0.02)
            ops.stopper.timeouts = type(ops.stopper.timeouts)(cooperative_s=5, sigint_s=5)
            ops.request_stop("coop")
            assert wait_status(ops, "coop") == "stopped"
            assert proc.wait(5) == 0  # no signal: it ended itself
            assert ops.get("coop")["how"] == "cooperative"
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def test_a_live_process_with_another_start_time_is_never_signalled(ops, children):
    proc = children()
    real = psutil.Process(proc.pid).create_time()
    register(ops, "reused", proc.pid, started_at=real - 5)
    assert ops.request_stop("reused")["action"] == "gone"
    assert wait_status(ops, "reused") == "gone"
    time.sleep(1.5)  # longer than the cooperative and SIGINT windows
    assert proc.poll() is None  # never signalled


@pytest.mark.parametrize("pid", [1, 0, -5, os.getpid()])
def test_pid_1_and_the_dashboard_itself_are_never_signalled(ops, pid):
    register(ops, "op", pid, started_at=psutil.Process(1 if pid < 2 else pid).create_time())
    result = ops.request_stop("op")
    assert result["action"].startswith("refused")
    time.sleep(0.4)
    assert ops.get("op")["status"] == "stopping"
    assert "no signal sent" in ops.get("op")["stop_note"]


def test_a_process_already_gone_shows_gone(ops, children):
    proc = children()
    started = psutil.Process(proc.pid).create_time()
    proc.kill()
    proc.wait()
    register(ops, "op", proc.pid, started_at=started)
    ops.request_stop("op")
    assert ops.get("op")["status"] == "gone"


def test_a_remote_or_unregistered_process_is_only_asked_to_stop(ops):
    ops.ingest(
        [
            {
                "event": "operation.started",
                "operation_id": "far",
                "pid": 4242,
                "pid_started_at": 1.0,
                "host": "elsewhere.example",
            }
        ]
    )
    ops.ingest([{"event": "operation.started", "operation_id": "bare"}])
    assert ops.request_stop("far")["action"] == "cooperative"
    assert ops.request_stop("bare")["action"] == "cooperative"
    assert ops.get("far")["status"] == "stopping" and ops.get("far")["stop_requested"]
    accepted, stop = ops.ingest([{"event": "operation.progress", "operation_id": "far"}])
    assert stop == ["far"]


def test_find_process_checks_the_start_time_within_a_hundredth_of_a_second(children):
    proc = children()
    started = psutil.Process(proc.pid).create_time()
    assert find_process(proc.pid, started + 0.005)[0] is not None
    assert find_process(proc.pid, started + 0.5) == (None, "gone")
