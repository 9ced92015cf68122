import json

import pytest
from django.test import Client

from telemetry.operations.views import MAX_BODY


def post_events(client, body, content_type="application/json", **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/events", data, content_type=content_type, **extra)


def test_one_event_is_accepted_with_202(client, ops):
    response = post_events(client, {"event": "execution_start", "run_id": "r1", "agent": "dev"})
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "stop": []}
    assert ops.get("r1")["agent"] == "dev"


def test_a_list_is_accepted_and_duplicates_are_not_counted(client, ops):
    events = [
        {"event": "operation.started", "operation_id": "a", "event_id": "1"},
        {"event": "operation.cost", "operation_id": "a", "event_id": "2", "cost_usd": 1},
        {"event": "operation.cost", "operation_id": "a", "event_id": "2", "cost_usd": 1},
    ]
    assert post_events(client, events).json() == {"accepted": 2, "stop": []}


def test_the_answer_lists_operations_named_in_it_that_have_a_stop_requested(client, ops):
    post_events(client, [{"event": "operation.started", "operation_id": x} for x in "abc"])
    ops.request_stop("b")
    ops.request_stop("c")
    answer = post_events(client, [{"event": "operation.progress", "operation_id": x} for x in "ab"])
    assert answer.json()["stop"] == ["b"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "bad JSON"),
        ({"operation_id": "x"}, "no 'event'"),
        ([{"event": "a", "operation_id": "x"}, {"event": "b"}], "item 1"),
        ("42", "JSON object"),
    ],
)
def test_bad_json_or_a_missing_event_answers_400_with_the_reason(client, ops, body, reason):
    response = post_events(client, body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert ops.listing() == {"active": [], "recent": []}  # all or nothing


def test_another_content_type_answers_415(client, ops):
    response = client.post("/api/events", {"event": "x"})  # a form post
    assert response.status_code == 415
    assert post_events(client, "{}", content_type="text/plain").status_code == 415


def test_a_body_over_1_mib_answers_413(client, ops):
    big = json.dumps({"event": "x", "operation_id": "o", "output": "y" * MAX_BODY})
    assert post_events(client, big).status_code == 413


def test_posting_events_needs_no_csrf_token(ops):
    strict = Client(HTTP_HOST="127.0.0.1:8080", enforce_csrf_checks=True)
    assert post_events(strict, {"event": "x", "operation_id": "o"}).status_code == 202


def test_a_foreign_origin_is_refused(client, ops):
    response = post_events(
        client, {"event": "x", "operation_id": "o"}, HTTP_ORIGIN="http://evil.example"
    )
    assert response.status_code == 403


def test_get_is_not_allowed_on_events(client, ops):
    assert client.get("/api/events").status_code == 405


def test_the_operations_api_lists_active_and_recent(client, ops):
    post_events(
        client,
        [
            {"event": "operation.started", "operation_id": "a", "task_id": "T-1"},
            {"event": "operation.started", "operation_id": "b"},
            {"event": "operation.completed", "operation_id": "b"},
        ],
    )
    data = client.get("/api/operations").json()
    assert [o["id"] for o in data["active"]] == ["a"] and [o["id"] for o in data["recent"]] == ["b"]
    keys = {
        "id",
        "status",
        "agent",
        "task_id",
        "tool",
        "model",
        "started_at",
        "ended_at",
        "elapsed_s",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "routing",
        "progress",
        "output",
        "stop_requested",
    }
    assert keys <= set(data["active"][0])
    assert client.get("/api/operations/a").json()["status"] == "running"
    assert client.get("/api/operations/nope").status_code == 404
    assert client.head("/api/operations").status_code == 200


def test_stop_needs_the_csrf_token(ops):
    ops.ingest([{"event": "operation.started", "operation_id": "a"}])
    strict = Client(HTTP_HOST="127.0.0.1:8080", enforce_csrf_checks=True)
    assert strict.post("/api/operations/a/stop").status_code == 403
    assert ops.get("a")["stop_requested"] is False
    strict.get("/operations/")  # sets the csrftoken cookie, as the page does
    token = strict.cookies["csrftoken"].value
    response = strict.post("/api/operations/a/stop", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 202 and response.json()["stop_requested"] is True
    assert strict.get("/api/operations/a").json()["stop_requested"] is True


def test_stop_answers_404_for_an_unknown_id_and_405_for_get(client, ops):
    assert client.post("/api/operations/nope/stop").status_code == 404
    assert client.get("/api/operations/nope/stop").status_code == 405


def test_an_htmx_stop_answers_the_operation_fragment(client, ops):
    ops.ingest([{"event": "operation.started", "operation_id": "a", "agent": "dev"}])
    response = client.post("/api/operations/a/stop", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 202
    assert 'data-operation-id="a"' in html and 'data-status="stopping"' in html


def test_stop_from_a_foreign_origin_or_without_the_token_is_refused_and_nothing_stops(ops):
    from tests.edge import running_with

    ops.ingest([{"event": "operation.started", "operation_id": "a"}])
    strict = Client(HTTP_HOST="127.0.0.1:8080", enforce_csrf_checks=True)
    strict.get("/operations/")
    token = strict.cookies["csrftoken"].value
    for origin in ("http://evil.example", "http://127.0.0.1:9999", "https://127.0.0.1:8080"):
        response = strict.post("/api/operations/a/stop", HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN=origin)
        assert response.status_code == 403, origin
    with running_with(host="0.0.0.0", token="s3cret"):
        response = strict.post(
            "/api/operations/a/stop", HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN="http://127.0.0.1:8080"
        )
        assert response.status_code == 401
    assert ops.get("a")["stop_requested"] is False
