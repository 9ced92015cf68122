"""FR-C2: CSV and JSON of the filtered invocation list and of the summary figures."""

import csv
import io
import json

from tests.telemetry.builders import create, row

LIST = "/telemetry/telemetry/invocation/"


def body(response) -> str:
    return (
        b"".join(response.streaming_content).decode()
        if response.streaming
        else response.content.decode()
    )


def make(tmp_path, use_service):
    use_service(
        create(
            tmp_path / "t.db",
            "llm",
            [
                row("2026-02-06T10:00:00Z", 0.5, model="gpt-4o", agent="writer"),
                row("2026-02-05T10:00:00+02:00", 1.5, model="claude", agent="writer"),
                row("2026-02-05T11:00:00Z", None, model="claude", agent="reviewer", status="error"),
            ],
        )
    )


def test_the_list_exports_as_csv_with_its_filters(web, client, tmp_path, use_service):
    make(tmp_path, use_service)
    response = client.get(f"{LIST}export.csv?model=claude")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [(r["id"], r["model_name"], r["cost"], r["timestamp"]) for r in rows] == [
        ("3", "claude", "0.0", "2026-02-05T11:00:00+00:00"),
        ("2", "claude", "1.5", "2026-02-05T08:00:00+00:00"),
    ]


def test_the_list_exports_as_json_with_search_and_every_page(web, client, tmp_path, use_service):
    make(tmp_path, use_service)
    data = json.loads(body(client.get(f"{LIST}export.json?q=writer&o=1")))
    assert [d["id"] for d in data] == [2, 1]  # sorted by time, ascending
    assert data[0]["agent_name"] == "writer" and data[0]["cost"] == 1.5


def test_the_changelist_links_its_exports_with_the_current_filters(
    web, client, tmp_path, use_service
):
    make(tmp_path, use_service)
    html = client.get(f"{LIST}?model=claude").content.decode()
    assert f'href="{LIST}export.csv?model=claude"' in html
    assert f'href="{LIST}export.json?model=claude"' in html


def test_the_summary_figures_export_as_json(web, client, tmp_path, use_service):
    make(tmp_path, use_service)
    response = client.get("/telemetry/export/stats.json")
    data = json.loads(response.content)
    assert data["cost"]["total"] == 2.0 and data["invocations"] == 3
    assert "attachment" in response["Content-Disposition"]


def test_the_summary_figures_export_as_csv(web, client, tmp_path, use_service):
    make(tmp_path, use_service)
    rows = list(csv.reader(io.StringIO(client.get("/telemetry/export/stats.csv").content.decode())))
    assert rows[0] == ["section", "key", "invocations", "tokens", "cost_usd"]
    assert ["total", "all", "3", "300", "2.0"] in rows
    assert ["model", "claude", "2", "200", "1.5"] in rows
    assert ["agent", "reviewer", "1", "100", "0.0"] in rows
    assert ["day", "2026-02-06", "1", "100", "0.5"] in rows
