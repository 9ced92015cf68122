import json
import sqlite3

from tests.telemetry.builders import create, row
from tests.telemetry.conftest import NOW


def test_it_returns_the_contract_shape(web, client, tmp_path, use_service):
    use_service(
        create(
            tmp_path / "t.db",
            "spec",
            [
                row("2026-02-06T10:00:00Z", 0.15, latency=100),
                row("2026-02-01T10:00:00Z", 3.30, model="claude", latency=300, status="error"),
            ],
        )
    )
    data = client.get("/api/stats").json()
    assert data["cost"] == {"today": 0.15, "month": 3.45, "total": 3.45}
    assert data["tokens"] == 200 and data["invocations"] == 2
    assert data["models"][0] == {
        "model": "claude",
        "invocations": 1,
        "tokens": 100,
        "cost": 3.3,
        "share": 0.5,
        "success_rate": 0.0,
        "avg_latency_ms": 300.0,
    }
    assert len(data["daily"]) == 30 and data["daily"][-1] == {
        "date": "2026-02-06",
        "cost": 0.15,
        "tokens": 100,
        "invocations": 1,
    }
    assert data["latency_ms"] == {"avg": 200.0, "p95": 300.0}
    assert data["success_rate"] == 0.5
    assert data["cost_velocity"] == 0.15 / 15 * 24  # NOW is 15:00
    assert data["state"] == "ok" and data["time_zone"] == "UTC"
    assert NOW.date().isoformat() == data["daily"][-1]["date"]


def test_a_missing_database_answers_zeros_and_says_so(web, client, tmp_path, use_service):
    use_service(tmp_path / "nothing.db")
    data = client.get("/api/stats").json()
    assert data["cost"] == {"today": 0, "month": 0, "total": 0}
    assert data["state"] == "missing" and "No telemetry database" in data["message"]


def test_it_only_answers_get(web, client, tmp_path, use_service):
    use_service(tmp_path / "nothing.db")
    assert client.post("/api/stats").status_code == 405


def test_it_is_valid_json_even_with_infinite_values_in_the_file(web, client, tmp_path, use_service):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z", 0.15, latency=100)])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE invocations SET cost_usd = 'Infinity', latency_ms = 1e999, total_tokens = 1e999"
        )
    conn.close()
    use_service(path)
    response = client.get("/api/stats")

    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    data = json.loads(response.content, parse_constant=refuse)
    assert data["state"] == "ok" and data["cost"]["total"] == 0 and data["odd_values"] == 3


def test_it_says_loading_while_the_first_aggregation_runs(web, client, tmp_path, monkeypatch):
    from telemetry import db, service

    svc = service.TelemetryService()
    monkeypatch.setattr(service, "service", svc)
    with svc._lock:  # the first aggregation cannot finish while we hold this
        db.configure(create(tmp_path / "t.db", "spec", [row("2026-02-06T10:00:00Z", 1)]))
        assert client.get("/api/stats").json()["state"] == "loading"
    assert svc.wait_loaded(5)
    assert client.get("/api/stats").json()["state"] == "ok"
