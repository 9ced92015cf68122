"""GET /api/mcp, POST /api/mcp/<name>/<action> and the /mcp/ page (CONTRACT section 9)."""

import pytest
import yaml
from django.test import Client

from mcp_servers import service
from mcp_servers.service import MCPService, wait_for

from ..server import free_port

HOST = "127.0.0.1:8080"


@pytest.fixture
def mcp(tmp_path, monkeypatch):
    """A live service whose servers need no process to stay up: fast, and real."""
    path = tmp_path / "mcp_servers.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "health_check_interval_seconds": 60,
                "servers": {
                    "missing": {"command": "no-such-mcp-server-xyz", "env": {"K": "v"}},
                    "web": {"type": "http", "url": f"http://127.0.0.1:{free_port()}/mcp"},
                    "bad": {"args": []},
                },
            }
        )
    )
    svc = MCPService()
    svc.start([path])
    monkeypatch.setattr(service, "SERVICE", svc)
    wait_for(
        svc,
        lambda s: (
            s.server("missing").status == "broken" and s.server("web").status == "unreachable"
        ),
    )
    yield svc
    svc.stop()


@pytest.fixture
def client():
    return Client(HTTP_HOST=HOST)


@pytest.fixture
def csrf_client():
    return Client(HTTP_HOST=HOST, enforce_csrf_checks=True)


def test_the_api_lists_every_server_with_the_contract_fields(client, mcp):
    response = client.get("/api/mcp")
    assert response.status_code == 200
    servers = {s["name"]: s for s in response.json()["servers"]}
    assert set(servers) == {"missing", "web"}
    missing = servers["missing"]
    assert missing["status"] == "broken"
    assert missing["transport"] == "stdio"
    assert missing["managed"] is False
    assert missing["error"] == "command not found: no-such-mcp-server-xyz"
    assert set(missing) == {
        "name", "transport", "status", "managed", "tools", "last_check", "latency_ms",
        "uptime_s", "restarts", "pid", "rss_mb", "cpu_pct", "error",
    }  # fmt: skip
    assert servers["web"]["status"] == "unreachable"
    assert response.json()["problems"][0]["server"] == "bad"


@pytest.mark.parametrize("action", ["start", "stop", "restart", "check"])
def test_an_action_on_a_defined_server_is_accepted(client, mcp, action):
    response = client.post(f"/api/mcp/missing/{action}")
    assert response.status_code == 202
    assert response.json() == {"accepted": True, "server": "missing", "action": action}


def test_start_makes_the_server_managed(client, mcp):
    client.post("/api/mcp/missing/start")
    snap = wait_for(mcp, lambda s: s.server("missing").managed)
    assert snap.server("missing").managed


@pytest.mark.parametrize("name", ["nobody", "bad", "x.y"])
def test_a_name_not_in_the_definitions_is_404(client, mcp, name):
    assert client.post(f"/api/mcp/{name}/start").status_code == 404


@pytest.mark.parametrize(
    "path", ["/api/mcp/missing/delete", "/api/mcp/..%2Fx/start", "/api/mcp//start"]
)
def test_unknown_actions_and_odd_names_are_404(client, mcp, path):
    assert client.post(path).status_code == 404


def test_an_http_server_cannot_be_started_but_can_be_checked(client, mcp):
    response = client.post("/api/mcp/web/start")
    assert response.status_code == 409
    assert "URL" in response.json()["error"]
    assert client.post("/api/mcp/web/check").status_code == 202


def test_actions_are_post_only(client, mcp):
    assert client.get("/api/mcp/missing/start").status_code == 405
    assert client.post("/api/mcp").status_code == 405


def test_an_action_without_the_csrf_token_is_refused(csrf_client, mcp):
    assert csrf_client.post("/api/mcp/missing/check").status_code == 403


def _token(csrf_client) -> str:
    csrf_client.get("/mcp/")
    return csrf_client.cookies["csrftoken"].value


def test_an_action_with_the_token_from_the_page_is_accepted(csrf_client, mcp):
    token = _token(csrf_client)
    response = csrf_client.post(
        "/api/mcp/missing/check", HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN=f"http://{HOST}"
    )
    assert response.status_code == 202


def test_an_action_from_a_foreign_origin_is_refused(csrf_client, mcp):
    token = _token(csrf_client)
    for origin in ("http://evil.example", f"http://{HOST.split(':')[0]}:9999", f"https://{HOST}"):
        response = csrf_client.post(
            "/api/mcp/missing/check", HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN=origin
        )
        assert response.status_code == 403, origin


def test_the_page_explains_managed_versus_works_when_started(client, mcp):
    response = client.get("/mcp/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="mcp-servers"' in html
    assert "works when a client starts it" in html
    assert 'data-mcp-detail="missing"' in html
    assert "command not found: no-such-mcp-server-xyz" in html
    assert "X-CSRFToken" in html  # htmx sends the token with every action
    assert "<script>" not in html.split("</head>")[1]  # no inline script in the body
    assert ' onclick="' not in html


def test_the_page_refreshes_its_details_as_a_fragment(client, mcp):
    response = client.get("/mcp/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="mcp-detail"')
    assert "<html" not in html


def test_the_api_answers_when_the_service_is_not_running(client, monkeypatch):
    monkeypatch.setattr(service, "SERVICE", MCPService())
    assert client.get("/api/mcp").json()["servers"] == []
    assert client.post("/api/mcp/missing/start").status_code == 404


def test_beyond_loopback_an_action_without_the_token_is_refused(csrf_client, mcp):
    from tests.edge import running_with

    token = _token(csrf_client)
    with running_with(host="0.0.0.0", token="s3cret"):
        response = csrf_client.post(
            "/api/mcp/missing/check", HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN=f"http://{HOST}"
        )
    assert response.status_code == 401
