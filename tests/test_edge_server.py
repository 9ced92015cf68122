"""The edge against a real daphne: slow clients, static files, the WebSocket, the options."""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from dashboard_project.security import COOKIE, cookie_value

from .factories import write_task
from .kanban.test_rundashboard import run
from .server import DashboardProcess, free_port


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def raw_get(port: int, target: str) -> int:
    """A request line sent as is (urllib would normalise the path)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        return int(s.recv(200).split()[1])


def trickle_until_closed(port: int, limit: float) -> float:
    """Slowloris: send one header line every 2 s; return how long the server kept us."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        while time.monotonic() - started < limit:
            try:
                s.sendall(b"X-a: b\r\n")
                s.settimeout(2)
                if s.recv(1024) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
    return time.monotonic() - started


def closed_by_server(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    collab = tmp_path_factory.mktemp("collab")
    with DashboardProcess("--collab-dir", str(collab)) as server:
        yield server


def test_a_client_trickling_its_headers_is_cut_while_others_are_served(server):
    import threading

    kept: list[float] = []
    slow = threading.Thread(target=lambda: kept.append(trickle_until_closed(server.port, 40)))
    slow.start()
    time.sleep(4)
    status, _, body = get(server.url + "health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    slow.join(45)
    assert kept and kept[0] < 25, f"a slow client was kept {kept}"


@pytest.mark.parametrize("target", ["/static/%2e%2e/manage.py", "/static/..%2fmanage.py"])
def test_static_traversal_is_a_404_on_the_real_server(server, target):
    assert raw_get(server.port, target) == 404


def test_static_files_have_hashed_names_a_long_cache_and_gzip(server):
    _, _, page = get(server.url)
    script = re.search(rb'src="(/static/dashboard/dashboard\.[0-9a-f]{12}\.js)"', page)
    assert script, "the page does not link a hashed dashboard.js"
    status, headers, body = get(
        server.url.rstrip("/") + script[1].decode(), **{"Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert (
        "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Encoding"] == "gzip" and b"htmx" in gzip.decompress(body)


def test_head_on_the_board_answers_200(server):
    request = urllib.request.Request(server.url, method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_a_websocket_message_over_daphnes_default_1_mib_is_accepted(server):
    ws_url = f"ws://127.0.0.1:{server.port}/dashboard"
    with connect(ws_url, origin=f"http://127.0.0.1:{server.port}", max_size=None) as ws:
        ws.recv(timeout=5)  # the whole state
        ws.send("x" * (2 * 1024 * 1024))
        ws.ping().wait(5)  # still open: a 1 MiB ceiling would have closed it (1009)


def test_a_page_on_another_port_gets_no_websocket(server):
    ws_url = f"ws://127.0.0.1:{server.port}/dashboard"
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, origin="http://127.0.0.1:9999")
    assert refused.value.response.status_code == 403


def test_on_every_address_with_a_token_a_foreign_origin_is_refused(collab):
    env = {"DASHBOARD_TOKEN": "s3cret"}
    with DashboardProcess("--collab-dir", str(collab), "--host", "0.0.0.0", env=env) as server:
        ws_url = f"ws://127.0.0.1:{server.port}/dashboard"
        cookie = {"Cookie": f"{COOKIE}={cookie_value('s3cret')}"}
        for origin in ("http://evil.example", f"http://localhost:{server.port}", "null"):
            with pytest.raises(InvalidStatus):
                connect(ws_url, origin=origin, additional_headers=cookie)
        with connect(
            ws_url, origin=f"http://127.0.0.1:{server.port}", additional_headers=cookie
        ) as ws:
            assert "board" in ws.recv(timeout=5)
        # and static files need the token like everything else
        assert get(server.url + "static/dashboard/dashboard.js")[0] == 401


def test_connections_beyond_the_cap_are_refused_and_task_files_are_still_read(collab):
    write_task(collab, "inbox/before.yaml", id="before")
    with DashboardProcess("--collab-dir", str(collab), open_files=256) as server:
        flood = []
        try:
            for _ in range(300):  # the cap is 192 with 256 descriptors
                s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                s.sendall(b"GET / HTTP/1.1\r\n")
                flood.append(s)
            write_task(collab, "inbox/during.yaml", id="during")
            time.sleep(2)
            refused = sum(closed_by_server(s) for s in flood)
            assert 50 <= refused <= 200, f"{refused} of 300 refused; the cap should leave 192"
            time.sleep(18)  # the request deadline cuts the rest
        finally:
            for s in flood:
                s.close()
        _, _, body = get(server.url + "api/tasks")
        data = json.loads(body)
        assert {t["id"] for t in data["tasks"]} == {"before", "during"}
        assert data["problems"] == []


def test_token_on_the_command_line_warns_that_ps_shows_it(collab, tmp_path):
    result = run("--collab-dir", str(collab), "--token", "x", "--role", "web")
    assert "visible to every local user" in result.stderr and "--token-file" in result.stderr


def test_the_token_can_come_from_a_file(collab, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("from-a-file\n")
    with DashboardProcess(
        "--collab-dir", str(collab), "--host", "0.0.0.0", "--token-file", str(secret)
    ) as server:
        assert get(server.url + "health")[0] == 401
        assert get(server.url + "health", Authorization="Bearer from-a-file")[0] == 200
        assert "from-a-file" not in " ".join(server.proc.args)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "web"], "DASHBOARD_REDIS_URL"),
        (["--role", "watcher"], "DASHBOARD_REDIS_URL"),
        (["--mcp-config", "/nonexistent/mcp.json"], "is not a readable file"),
        (["--token", "a", "--token-file", "/etc/hostname"], "not both"),
        (["--token-file", "/nonexistent/token"], "cannot be read"),
        (["--host", "dashboard.invalid", "--token", "t"], "DASHBOARD_ALLOWED_HOSTS"),
    ],
)
def test_bad_options_are_one_clear_line(collab, args, message):
    result = run("--collab-dir", str(collab), "--port", str(free_port()), *args)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_closing_a_trickling_connection_leaves_websockets_alone(server):
    ws_url = f"ws://127.0.0.1:{server.port}/dashboard"
    with connect(ws_url, origin=f"http://127.0.0.1:{server.port}") as ws:
        ws.recv(timeout=5)
        time.sleep(17)  # past the request deadline: an upgraded connection is not cut
        try:
            ws.ping().wait(5)
        except ConnectionClosed:
            pytest.fail("the request deadline closed an open WebSocket")
