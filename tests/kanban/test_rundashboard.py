import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ..factories import write_task
from ..server import REPO, DashboardProcess, free_port


def run(*args, timeout=20):
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "rundashboard", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_it_serves_the_board_and_stops_cleanly_on_sigterm(collab, tmp_path):
    write_task(collab, "inbox/t1.yaml", id="t1")
    server = DashboardProcess(
        "--collab-dir", str(collab), "--telemetry-db", str(tmp_path / "none.db")
    )
    with server:
        assert f"http://127.0.0.1:{server.port}/" in server.ready_line
        health = get_json(server.url + "health")
        assert health["status"] == "ok" and health["tasks"] == 1
        assert health["watcher"] == "running" and health["telemetry"] == "missing"
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 2.5


def test_sigint_stops_it_too(collab):
    with DashboardProcess("--collab-dir", str(collab)) as server:
        assert server.proc is not None
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(5) == 0


def test_a_port_in_use_is_one_clear_line_and_a_failure(collab):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("--collab-dir", str(collab), "--port", str(port))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_it_refuses_to_bind_beyond_loopback_without_a_token(collab):
    result = run("--collab-dir", str(collab), "--host", "0.0.0.0", "--port", str(free_port()))
    assert result.returncode != 0
    assert "DASHBOARD_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_a_collab_dir_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    result = run("--collab-dir", str(path), "--port", str(free_port()))
    assert result.returncode != 0 and "not a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_option_is_refused_without_a_traceback():
    result = run("--port", "notaport")
    assert result.returncode != 0 and "Traceback" not in result.stderr


def test_a_missing_collab_dir_is_waited_for(tmp_path):
    collab = tmp_path / "later" / "collaboration"
    with DashboardProcess("--collab-dir", str(collab)) as server:
        health = get_json(server.url + "health")
        assert health["tasks"] == 0 and health["waiting_for"] == str(collab)
        with urllib.request.urlopen(server.url, timeout=5) as response:
            assert "Waiting for" in response.read().decode()
        write_task(collab, "inbox/t1.yaml", id="t1")
        deadline = time.monotonic() + 5
        while get_json(server.url + "health")["tasks"] != 1:
            assert time.monotonic() < deadline, "the board never filled"
            time.sleep(0.1)


def test_with_a_token_every_request_needs_it(collab):
    with DashboardProcess("--collab-dir", str(collab), env={"DASHBOARD_TOKEN": "s3cret"}) as server:
        try:
            urllib.request.urlopen(server.url + "health", timeout=5)
            raise AssertionError("served without the token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        request = urllib.request.Request(
            server.url + "health", headers={"Authorization": "Bearer s3cret"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(server.url + "api/tasks?token=s3cret", timeout=5) as response:
            cookie = response.headers["Set-Cookie"]
            assert "dashboard_token=" in cookie and "s3cret" not in cookie
            assert json.load(response)["counts"]["total"] == 0


def test_the_demo_starts_with_a_moving_board():
    with DashboardProcess("--demo") as server:
        data = get_json(server.url + "api/tasks")
        assert data["counts"]["total"] >= 10
        assert any("broken" in p["path"] for p in data["problems"])


@pytest.mark.parametrize(
    ("name", "value"),
    [("DASHBOARD_DONE_LIMIT", "ten"), ("DASHBOARD_STOP_GRACE_SECONDS", "-1")],
)
def test_a_bad_setting_in_the_environment_is_one_clear_line(name, value):
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "rundashboard", "--port", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, name: value},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert name in result.stderr


def test_a_static_root_it_cannot_write_is_one_clear_line(collab, tmp_path):
    (tmp_path / "a-file").write_text("")
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "manage.py"),
            "rundashboard",
            "--collab-dir",
            str(collab),
            "--port",
            str(free_port()),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "DASHBOARD_STATIC_ROOT": str(tmp_path / "a-file" / "static")},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "DASHBOARD_STATIC_ROOT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_static_files_collected_once_need_no_write_at_the_next_start(collab, tmp_path):
    # A read-only checkout that was collected once (the lock cannot be opened for writing).
    env = {"DASHBOARD_STATIC_ROOT": str(tmp_path / "static")}
    with DashboardProcess("--collab-dir", str(collab), env=env):
        pass
    lock = tmp_path / "static" / ".lock"
    lock.unlink()
    lock.mkdir()
    with DashboardProcess("--collab-dir", str(collab), env=env) as server:
        assert get_json(server.url + "health")["status"] in ("ok", "loading")
