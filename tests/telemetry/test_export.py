"""FR-C2: CSV and JSON of the filtered invocation list and of the summary figures.

The exports stream from async iterators (security review finding 8a: Django buffers a sync
iterator whole under ASGI), so these tests read them with the async client, as daphne does."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import sqlite3

import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

from telemetry.db import ALIAS
from tests.telemetry.builders import create, row

LIST = "/telemetry/telemetry/invocation/"


@pytest.fixture(autouse=True)
async def fresh_connection():
    """The async client runs views on asgiref's one shared thread, and the test client keeps
    Django from closing connections after a request: close that thread's telemetry connection
    so that each test reads its own file."""

    def close() -> None:
        connections[ALIAS].close()

    await sync_to_async(close)()
    yield
    await sync_to_async(close)()


async def body(response) -> str:
    if not response.streaming:
        return response.content.decode()
    assert response.is_async, "a sync iterator is buffered whole under ASGI"
    return b"".join([chunk async for chunk in response.streaming_content]).decode()


def make(tmp_path, use_service, extra: list[dict] = ()):
    return use_service(
        create(
            tmp_path / "t.db",
            "llm",
            [
                row("2026-02-06T10:00:00Z", 0.5, model="gpt-4o", agent="writer"),
                row("2026-02-05T10:00:00+02:00", 1.5, model="claude", agent="writer"),
                row("2026-02-05T11:00:00Z", None, model="claude", agent="reviewer", status="error"),
                *extra,
            ],
        )
    )


async def test_the_list_exports_as_csv_with_its_filters(web, async_client, tmp_path, use_service):
    make(tmp_path, use_service)
    response = await async_client.get(f"{LIST}export.csv?model=claude")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="invocations.csv"'
    rows = list(csv.DictReader(io.StringIO(await body(response))))
    assert [(r["id"], r["model_name"], r["cost"], r["timestamp"]) for r in rows] == [
        ("3", "claude", "0.0", "2026-02-05T11:00:00+00:00"),
        ("2", "claude", "1.5", "2026-02-05T08:00:00+00:00"),
    ]


async def test_the_list_exports_as_json_with_search_and_every_page(
    web, async_client, tmp_path, use_service
):
    make(tmp_path, use_service)
    data = json.loads(await body(await async_client.get(f"{LIST}export.json?q=writer&o=1")))
    assert [d["id"] for d in data] == [2, 1]  # sorted by time, ascending
    assert data[0]["agent_name"] == "writer" and data[0]["cost"] == 1.5


async def test_an_empty_list_exports_as_a_header_or_an_empty_array(
    web, async_client, tmp_path, use_service
):
    make(tmp_path, use_service)
    text = await body(await async_client.get(f"{LIST}export.csv?model=nobody"))
    assert text.splitlines() == [
        "id,timestamp,model_name,tool_name,agent_name,tokens,cost,raw_cost,latency_ms,status,"
        "invocation_id,error_message"
    ]
    assert json.loads(await body(await async_client.get(f"{LIST}export.json?model=x"))) == []


async def test_a_big_export_streams_in_batches_in_the_lists_order(
    web, async_client, tmp_path, use_service
):
    many = [row("2026-02-04T10:00:00Z", i / 1000, tokens=i) for i in range(2500)]
    make(tmp_path, use_service, many)
    response = await async_client.get(f"{LIST}export.csv?o=4")  # by tokens (5th column), ascending
    assert response.is_async
    chunks = [chunk async for chunk in response.streaming_content]
    assert len(chunks) >= 4  # the header, then one chunk per 1,000 rows
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 2503
    tokens = [int(r["tokens"]) for r in rows]
    assert tokens == sorted(tokens)
    data = json.loads(await body(await async_client.get(f"{LIST}export.json")))
    assert [d["id"] for d in data] == list(range(2503, 0, -1))


async def test_the_row_cap_cuts_the_export_and_says_so(
    web, async_client, settings, tmp_path, use_service
):
    settings.DASHBOARD_EXPORT_MAX_ROWS = 2
    make(tmp_path, use_service)
    response = await async_client.get(f"{LIST}export.json")
    assert response["X-Export-Truncated"] == "first 2 rows"
    assert 'filename="invocations-first-2.json"' in response["Content-Disposition"]
    assert [d["id"] for d in json.loads(await body(response))] == [3, 2]


async def test_csv_cells_that_a_spreadsheet_would_run_are_defused(
    web, async_client, tmp_path, use_service
):
    hostile = [
        row("2026-02-04T10:00:00Z", 0.1, model="=cmd|' /C calc'!A0", tool="+1", agent="-2"),
        row("2026-02-04T11:00:00Z", 0.1, model="@SUM(A1)", tool="\tx", agent="\rx"),
    ]
    make(tmp_path, use_service, hostile)
    rows = list(
        csv.DictReader(io.StringIO(await body(await async_client.get(f"{LIST}export.csv"))))
    )
    by_id = {r["id"]: r for r in rows}
    assert (by_id["4"]["model_name"], by_id["4"]["tool_name"], by_id["4"]["agent_name"]) == (
        "'=cmd|' /C calc'!A0",
        "'+1",
        "'-2",
    )
    assert (by_id["5"]["model_name"], by_id["5"]["tool_name"], by_id["5"]["agent_name"]) == (
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
    )
    assert by_id["1"]["model_name"] == "gpt-4o"
    stats = await body(await async_client.get("/telemetry/export/stats.csv"))
    lines = list(csv.reader(io.StringIO(stats)))
    assert ["model", "'=cmd|' /C calc'!A0", "1", "100", "0.1"] in lines
    assert ["tool", "'+1", "1", "100", "0.1"] in lines
    assert not any(cell.startswith(("=", "+", "@")) for line in lines for cell in line)


async def test_costs_that_are_not_numbers_still_export_as_valid_json(
    web, async_client, tmp_path, use_service
):
    svc = make(tmp_path, use_service)
    conn = sqlite3.connect(svc.path)
    with conn:
        conn.execute("UPDATE invocations SET cost_usd = x'00ff' WHERE id = 1")
        conn.execute("UPDATE invocations SET cost_usd = 'n/a' WHERE id = 2")
        conn.execute("UPDATE invocations SET cost_usd = 1e999 WHERE id = 3")
    conn.close()
    data = json.loads(await body(await async_client.get(f"{LIST}export.json")))
    # Counted as 0 (the figures' rule); as stored beside it (a BLOB reads as unknown).
    assert [d["cost"] for d in data] == [0.0, 0.0, 0.0]
    assert [d["raw_cost"] for d in data] == [None, "n/a", None]


async def test_the_changelist_links_its_exports_with_the_current_filters(
    web, async_client, tmp_path, use_service
):
    make(tmp_path, use_service)
    html = (await async_client.get(f"{LIST}?model=claude")).content.decode()
    assert f'href="{LIST}export.csv?model=claude"' in html
    assert f'href="{LIST}export.json?model=claude"' in html


async def test_the_summary_figures_export_as_json(web, async_client, tmp_path, use_service):
    make(tmp_path, use_service)
    response = await async_client.get("/telemetry/export/stats.json")
    data = json.loads(await body(response))
    assert data["cost"]["total"] == 2.0 and data["invocations"] == 3
    assert "attachment" in response["Content-Disposition"]


async def test_the_summary_figures_export_as_csv(web, async_client, tmp_path, use_service):
    make(tmp_path, use_service)
    text = await body(await async_client.get("/telemetry/export/stats.csv"))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "invocations", "tokens", "cost_usd"]
    assert ["total", "all", "3", "300", "2.0"] in rows
    assert ["model", "claude", "2", "200", "1.5"] in rows
    assert ["agent", "reviewer", "1", "100", "0.0"] in rows
    assert ["day", "2026-02-06", "1", "100", "0.5"] in rows


async def test_exports_answer_only_reads(web, async_client, tmp_path, use_service):
    make(tmp_path, use_service)
    for url in (f"{LIST}export.csv", "/telemetry/export/stats.json"):
        assert (await async_client.post(url)).status_code == 405


async def test_a_client_that_leaves_stops_the_export(web, tmp_path, use_service, caplog):
    """Through Django's own ASGI handler, as daphne runs it: once the client disconnects,
    no further batch is read."""
    make(tmp_path, use_service, [row("2026-02-04T10:00:00Z", 0.1)] * 20_000)
    bodies: list[bytes] = []
    left = asyncio.Event()
    calls = 0

    async def receive() -> dict:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            bodies.append(message["body"])
            if len(bodies) == 2:
                left.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"{LIST}export.csv",
        "raw_path": f"{LIST}export.csv".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    with caplog.at_level(logging.INFO, logger="telemetry.exports"):
        await asyncio.wait_for(ASGIHandler()(scope, receive, send), 60)
    assert 2 <= len(bodies) < 6  # of 21 (the header and 20 batches)
    assert "invocation export ended after" in caplog.text
    assert "of 20003 rows" in caplog.text
