"""Hostile or malformed drill-down URLs get a clear 4xx, never a 500 or a frozen process
(security review findings 1, 13 and 25)."""

from __future__ import annotations

import sqlite3
import urllib.error
import urllib.request

import pytest

from tests.server import DashboardProcess
from tests.telemetry.builders import create, row

LIST = "/telemetry/telemetry/invocation/"
EXPORTS = (f"{LIST}export.csv", f"{LIST}export.json")
# Exponential in the value's length: 2^32 steps on a 32-character timestamp (finding 1).
REDOS = "raw_timestamp__regex=(.|.)*!"


@pytest.fixture
def db(tmp_path, use_service):
    return use_service(
        create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00.123456+00:00", 0.5)])
    ).path


def get(port: int, path: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_regex_lookup_is_refused_at_once_and_the_server_stays_up(tmp_path):
    telemetry_db = create(
        tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00.123456+00:00", 0.5)] * 3
    )
    collab = tmp_path / "collab"
    for lane in ("inbox", "assigned", "done"):
        (collab / lane).mkdir(parents=True)
    with DashboardProcess("--collab-dir", str(collab), "--telemetry-db", str(telemetry_db)) as s:
        for path in (LIST, *EXPORTS):
            # Before the allow-list this never answered: `re` held the GIL for hours.
            status, text = get(s.port, f"{path}?{REDOS}", timeout=10)
            assert status == 400, text
            assert "raw_timestamp__regex" in text
        assert get(s.port, "/health", timeout=5)[0] == 200


@pytest.mark.parametrize(
    "query",
    [
        "raw_timestamp__iregex=a",
        "model_name__regex=a",
        "error_message__startswith=a",
        "id__gt=1",
        "cost__lt=1",
        "e=1",
        "_to_field=id",
        "_popup=1",
        "model=a&unknown=1",
    ],
)
def test_only_the_lists_own_parameters_are_accepted(web, client, db, query):
    for path in (LIST, *EXPORTS):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert "Unknown parameter" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "model=gpt-4o&tool=cli&agent=backend-dev&status=success",
        "q=gpt&o=2.-1&p=1",
        "timestamp__year=2026&timestamp__month=2&timestamp__day=6",
        "all=",
    ],
)
def test_the_lists_own_parameters_are_still_accepted(web, client, db, query):
    assert client.get(f"{LIST}?{query}").status_code == 200
    for path in EXPORTS:
        assert client.get(f"{path}?{query}").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "timestamp__year=9999",
        "timestamp__year=9999&timestamp__month=12",
        "timestamp__year=9999&timestamp__month=12&timestamp__day=31",
        "timestamp__year=0",
        "timestamp__year=2026&timestamp__month=13",
        "timestamp__year=2026&timestamp__month=2&timestamp__day=30",
        "timestamp__year=x",
        "timestamp__year=99999999999999999999",
    ],
)
def test_impossible_dates_and_pages_answer_400(web, client, db, query):
    for path in (LIST, *EXPORTS):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)


def test_a_range_lookup_is_refused_rather_than_crashing(web, client, db):
    response = client.get(f"{LIST}?id__range=1")
    assert response.status_code == 400
    assert "id__range" in response.content.decode()


@pytest.mark.parametrize("cost", [b"\x00\x01", "not a number", "Infinity-ish"])
def test_a_cost_that_is_not_a_number_renders_as_a_dash(web, client, tmp_path, use_service, cost):
    path = create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z", 0.5)])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE invocations SET cost_usd = ?", (cost,))
    conn.close()
    use_service(path)
    response = client.get(LIST)
    assert response.status_code == 200
    assert '<td class="field-cost_usd">—</td>' in response.content.decode()
    assert client.get(f"{LIST}1/change/").status_code == 200
    assert client.get(f"{LIST}export.csv").status_code == 200


def test_the_login_page_is_gone_and_posting_to_it_is_not_a_server_error(web, client, db):
    assert client.get("/telemetry/login/").status_code == 404
    csrf = {"csrftoken": "x" * 32}
    client.cookies.load(csrf)
    response = client.post(
        "/telemetry/login/",
        {"csrfmiddlewaretoken": "x" * 32, "username": "a", "password": "b"},
    )
    assert response.status_code in (403, 404)


@pytest.mark.parametrize(
    "url",
    [
        "/telemetry/login/",
        "/telemetry/logout/",
        "/telemetry/password_change/",
        "/telemetry/password_change/done/",
        "/telemetry/r/1/1/",
        "/telemetry/nothing-here/",
    ],
)
def test_dead_admin_routes_answer_404(web, client, db, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "no such table" not in response.content.decode()


def test_the_app_page_renders_without_the_removed_routes(web, client, db):
    response = client.get("/telemetry/telemetry/")
    assert response.status_code == 200
    assert "/telemetry/telemetry/invocation/" in response.content.decode()


def test_the_drill_down_never_shows_the_databases_absolute_path(web, client, tmp_path, db):
    (tmp_path / "bad.db").write_bytes(b"x" * 4096)
    from telemetry import db as telemetry_db

    telemetry_db.configure(tmp_path / "bad.db", "UTC")
    response = client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 503
    assert str(tmp_path) not in html
    assert "bad.db" in html


def test_a_missing_database_is_named_by_its_file_name_only(web, client, tmp_path, use_service):
    use_service(tmp_path / "missing.db")
    html = client.get(LIST).content.decode()
    assert "No data yet" in html and "missing.db" in html
    assert str(tmp_path) not in html
