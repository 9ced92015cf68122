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
