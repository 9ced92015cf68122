import re

import pytest
from django.test import Client

from kanban import runtime
from kanban.scanner import Scanner
from kanban.state import BoardState

from ..factories import corpus_like_tree


@pytest.fixture
def board_state(monkeypatch, tmp_path):
    state = BoardState()
    state.publish_board(Scanner(corpus_like_tree(tmp_path)).scan())
    state.watcher = "running"
    monkeypatch.setattr(runtime, "STATE", state)
    return state


@pytest.fixture
def client():
    return Client(HTTP_HOST="127.0.0.1:8080")


def test_the_board_is_rendered_on_the_server(client, board_state):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    for lane in ("inbox", "assigned", "done"):
        assert f'id="lane-{lane}"' in html
    assert 'id="count-total">10<' in html
    assert 'data-task-id="2026-02-11T1100-parsers"' in html
    assert 'data-agent="python-pedro"' in html
    assert "(untitled task)" in html  # the roadmap task has no title
    assert 'id="problems"' in html and "2026-02-12T1102-broken.yaml" in html
    assert 'ws-connect="/dashboard?v=' in html


def test_a_card_whose_prerequisite_is_not_done_is_marked_blocked(client, board_state):
    html = client.get("/").content.decode()
    card = html.split('data-task-id="2026-02-11T1100-parsers"')[0].rsplit("<li", 1)[1]
    assert "is-blocked" in card


def test_health_reports_watcher_tasks_and_telemetry(client, board_state):
    data = client.get("/health").json()
    assert data["status"] == "ok" and data["watcher"] == "running" and data["tasks"] == 10
    assert data["telemetry"] in ("ok", "missing", "error")


def test_api_tasks_has_the_contract_shape(client, board_state):
    data = client.get("/api/tasks").json()
    assert data["counts"] == {"inbox": 3, "assigned": 4, "done": 3, "total": 10}
    task = next(t for t in data["tasks"] if t["id"] == "2026-02-11T1100-parsers")
    assert task == {
        "id": "2026-02-11T1100-parsers",
        "title": "Parsers",
        "agent": "python-pedro",
        "priority": "critical",
        "status": "in_progress",
        "lane": "assigned",
        "path": "assigned/python-pedro/2026-02-11T1100-parsers.yaml",
        "dependencies": ["2026-02-11T1100-models"],
        "estimated_hours": 3.5,
        "updated_at": task["updated_at"],
        "stale": False,
        "pending": False,
    }
    assert data["problems"] == [
        {"path": "inbox/2026-02-12T1102-broken.yaml", "error": data["problems"][0]["error"]}
    ]


def test_filters_apply_on_the_server_and_show_counts_of_the_total(client, board_state):
    html = client.get("/?agent=python-pedro").content.decode()
    assert 'data-task-id="2026-02-11T1100-models"' in html
    assert 'data-task-id="dist002-task-3.2-cleanup"' not in html
    assert 'id="count-total">2<' in html and "of 10" in html
    html = client.get("/?q=cleanup").content.decode()
    assert 'data-task-id="dist002-task-3.2-cleanup"' in html
    assert 'data-task-id="2026-02-11T1100-models"' not in html


def test_show_all_lists_a_lane_of_one_agent(client, board_state):
    html = client.get("/lanes/done/?agent=backend-dev").content.decode()
    assert html.count('class="card ') == 2


def test_a_foreign_host_header_is_refused(board_state):
    assert Client(HTTP_HOST="evil.example.com").get("/").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/lanes/../etc/passwd",
        "/lanes/nope/",
        "/static/..%2f..%2fsettings.py",
        "/tasks/%00/",
        "/tasks/a%2Fb/",
        "/api/tasks/../../x",
        "/%2e%2e/",
    ],
)
def test_unknown_and_malformed_paths_answer_4xx_never_500(client, board_state, path):
    assert 400 <= client.get(path).status_code < 500


def test_show_all_leads_to_every_card_of_an_agent_with_an_awkward_name(
    client, monkeypatch, tmp_path
):
    from html import unescape

    from ..factories import write_task

    collab = tmp_path / "collab"
    for i in range(45):
        write_task(collab, f"assigned/r&d+ops#1/t{i:02}.yaml", id=f"rd-{i}", title=f"T{i}")
    write_task(collab, "assigned/r/other.yaml", id="other")
    state = BoardState()
    state.publish_board(Scanner(collab).scan())
    monkeypatch.setattr(runtime, "STATE", state)
    page = client.get("/").content.decode()
    links = re.findall(r'<a class="more" href="([^"]+)">Show all 45</a>', page)
    assert len(links) == 1
    lane = client.get(unescape(links[0])).content.decode()
    assert lane.count('data-task-id="rd-') == 45 and 'data-task-id="other"' not in lane


def test_kanban_templates_link_by_url_name_not_by_hard_coded_path():
    from ..factories import REPO

    for name in ("board.html", "lane.html"):
        text = (REPO / "templates" / "kanban" / name).read_text()
        assert not re.search(r'(href|action)="/', text), name
