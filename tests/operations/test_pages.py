import re


def seed(ops):
    ops.ingest(
        [
            {
                "event": "operation.started",
                "operation_id": "a",
                "agent": "dev",
                "task_id": "T 1",
                "tool": "aider",
                "model": "gpt-4o",
            },
            {
                "event": "routing_decision",
                "operation_id": "a",
                "selected": "gpt-4o",
                "reason": "cheap",
                "alternatives": [{"model": "claude", "score": 0.7, "cost_per_1k": 0.015}],
            },
            {
                "event": "execution_progress",
                "operation_id": "a",
                "percent": 30,
                "output": ["line one", "token=abc123 here"],
            },
            {
                "event": "cost_update",
                "operation_id": "a",
                "prompt_tokens": 1000,
                "completion_tokens": 200,
                "cost_usd": 0.0123,
            },
            {"event": "operation.started", "operation_id": "b", "agent": "ops", "model": "claude"},
            {"event": "operation.failed", "operation_id": "b", "error": "boom"},
        ]
    )


def test_the_panel_is_one_oob_element_with_each_operation_and_its_stop_button(ops):
    seed(ops)
    html = ops.panel_html().strip()
    assert (
        html.startswith('<section id="operations"') and 'hx-swap-oob="true"' in html.split(">")[0]
    )
    assert html.endswith("</section>") and html.count('id="operations"') == 1
    running = re.search(
        r'<article[^>]*data-operation-id="a"[^>]*data-status="running".*?</article>', html, re.S
    )
    assert running is not None
    card = running.group(0)
    assert (
        'href="/tasks/T%201/"' in card and "gpt-4o" in card and "cheap" in card and "claude" in card
    )
    assert (
        'data-action="stop"' in card
        and 'hx-post="/api/operations/a/stop"' in card
        and "hx-confirm" in card
    )
    assert "1200 tokens" in card and "$0.0123" in card and 'value="30"' in card
    assert "abc123" not in html and "line one" in html
    assert re.search(r'data-started="\d+\.\d+"', card)
    assert "<script" not in html and not re.search(r"\son[a-z]+=", html)
    assert 'data-operation-id="b" data-status="failed"' in html  # recently ended


def test_the_board_can_include_the_panel_without_passing_anything(ops):
    from django.template import engines

    seed(ops)
    html = (
        engines["django"]
        .from_string('{% include "telemetry/operations/panel.html#panel" %}')
        .render({})
    )
    assert 'id="operations"' in html and "hx-swap-oob" not in html


def test_the_operations_page_filters_by_agent_model_and_status(client, ops):
    seed(ops)
    page = client.get("/operations/").content.decode()
    assert 'data-operation-id="a"' in page and 'data-operation-id="b"' in page
    assert "reported by the operations" in page
    only_failed = client.get("/operations/?status=failed").content.decode()
    assert 'data-operation-id="b"' in only_failed and 'data-operation-id="a"' not in only_failed
    only_dev = client.get("/operations/?agent=dev&model=gpt-4o").content.decode()
    assert 'data-operation-id="a"' in only_dev and 'data-operation-id="b"' not in only_dev
    assert client.head("/operations/").status_code == 200


def test_an_operation_page_shows_its_timeline(client, ops):
    seed(ops)
    page = client.get("/operations/a/").content.decode()
    assert 'id="operation-timeline"' in page
    for event in ("operation.started", "operation.routing", "operation.progress", "operation.cost"):
        assert f'data-event="{event}"' in page
    assert client.get("/operations/nope/").status_code == 404
