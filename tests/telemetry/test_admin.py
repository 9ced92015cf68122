"""The /telemetry/ drill-down: Django's admin, read-only, needing nothing from the default DB."""

import sqlite3

import pytest

from tests.telemetry.builders import create, row

LIST = "/telemetry/telemetry/invocation/"


@pytest.fixture
def llm_db(tmp_path, use_service):
    rows = [
        row(f"2026-02-0{d}T1{d}:00:00Z", 0.1 * d, model=m, agent=a, tool=t, status=s)
        for d, m, a, t, s in [
            (1, "gpt-4o", "writer", "cli", "success"),
            (2, "claude", "writer", "ide", "error"),
            (3, "claude", "reviewer", "cli", "success"),
            (4, "gpt-4o", "reviewer", "ide", "success"),
        ]
    ]
    rows.append(row("2026-01-31T23:30:00-02:00", 1.0, model="llama"))  # Feb 1 01:30 UTC
    return use_service(create(tmp_path / "t.db", "llm", rows))


def ids(response) -> list[int]:
    return [obj.id for obj in response.context["cl"].result_list]


def test_the_index_needs_no_login_and_links_the_summaries(web, client, llm_db):
    response = client.get("/telemetry/")
    assert response.status_code == 200
    for url in ("/telemetry/models/", "/telemetry/days/", "/telemetry/agents/", LIST):
        assert f'href="{url}"' in response.content.decode()


def test_the_list_shows_every_invocation_newest_first(web, client, llm_db):
    response = client.get(LIST)
    assert response.status_code == 200
    assert ids(response) == [5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("model=claude", [3, 2]),
        ("agent=reviewer", [4, 3]),
        ("tool=ide", [4, 2]),
        ("status=error", [2]),
        ("q=llama", [5]),
        ("timestamp__year=2026&timestamp__month=2&timestamp__day=1", [5, 1]),
        ("timestamp__year=2026&timestamp__month=1", []),
        ("o=5", [1, 2, 3, 4, 5]),  # sorted by cost (6th column), ascending
    ],
)
def test_filters_search_dates_and_sorting(web, client, llm_db, query, expected):
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert ids(response) == expected


def test_date_drill_down_follows_the_dashboard_time_zone(web, client, tmp_path, use_service):
    use_service(
        create(tmp_path / "t.db", "spec", [row("2026-02-01T03:00:00Z", 1)]), "America/New_York"
    )
    assert ids(client.get(f"{LIST}?timestamp__year=2026&timestamp__month=1&timestamp__day=31")) == [
        1
    ]
    assert ids(client.get(f"{LIST}?timestamp__year=2026&timestamp__month=2")) == []


def test_it_paginates(web, client, tmp_path, use_service):
    use_service(create(tmp_path / "t.db", "spec", [row("2026-02-06T10:00:00Z", 0.01)] * 120))
    assert len(ids(client.get(LIST))) == 50
    assert ids(client.get(f"{LIST}?p=3")) == list(range(20, 0, -1))


def test_each_invocation_has_a_detail_page(web, client, llm_db):
    response = client.get(f"{LIST}2/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "claude" in html and "writer" in html and "2026-02-02T12:00:00Z" in html
    assert client.get(f"{LIST}99/change/").status_code == 404


def test_nothing_can_be_added_changed_or_deleted(web, client, llm_db):
    assert client.get(f"{LIST}add/").status_code == 403
    assert client.post(f"{LIST}2/change/", {"status": "x"}).status_code in (403, 405, 200)
    assert client.get(f"{LIST}2/delete/").status_code == 403
    assert client.get(f"{LIST}2/history/").status_code == 404
    assert 'name="_save"' not in client.get(f"{LIST}2/change/").content.decode()


def test_the_spec_schema_has_no_agent_column_or_filter(web, client, tmp_path, use_service):
    use_service(create(tmp_path / "t.db", "spec", [row("2026-02-06T10:00:00Z", 1)]))
    html = client.get(LIST).content.decode()
    assert "column-agent_name" not in html and "By agent" not in html
    assert client.get("/telemetry/agents/").status_code == 404


def test_the_per_model_summary(web, client, llm_db):
    html = client.get("/telemetry/models/").content.decode()
    link = (
        '<a href="/telemetry/telemetry/invocation/?model=claude" title="Its invocations">claude</a>'
    )
    cells = '<td class="num">2</td><td class="num">200</td><td class="num">$0.50</td>'
    assert f'<tr data-key="claude"><th scope="row">{link}</th>{cells}' in html


def test_the_per_day_summary_links_to_the_days_invocations(web, client, llm_db):
    html = client.get("/telemetry/days/").content.decode()
    assert '<tr data-key="2026-02-01">' in html
    assert "?timestamp__year=2026&amp;timestamp__month=2&amp;timestamp__day=1" in html
    assert "$1.10" in html  # 0.1 + 1.0 on Feb 1


def test_a_missing_database_says_no_data_yet(web, client, tmp_path, use_service):
    use_service(tmp_path / "missing.db")
    response = client.get(LIST)
    assert response.status_code == 200 and "No data yet" in response.content.decode()
    assert not (tmp_path / "missing.db").exists()


def test_a_locked_database_answers_503_not_500(web, client, llm_db, tmp_path):
    writer = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("UPDATE invocations SET status = status")
    try:
        response = client.get(LIST)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 503 and "busy" in response.content.decode()


def test_a_corrupt_database_answers_503_with_a_message(web, client, tmp_path, use_service):
    (tmp_path / "bad.db").write_bytes(b"x" * 4096)
    use_service(tmp_path / "bad.db")
    response = client.get(LIST)
    assert response.status_code == 503 and "cannot be read" in response.content.decode()


def test_the_date_drill_down_offers_years_months_and_days(web, client, tmp_path, use_service):
    use_service(
        create(
            tmp_path / "t.db",
            "spec",
            [
                row("2025-12-31T10:00:00Z", 1),
                row("2026-02-01T10:00:00Z", 1),
                row("2026-02-06T10:00:00Z", 1),
            ],
        )
    )
    top = client.get(LIST).content.decode()
    assert "?timestamp__year=2025" in top and "?timestamp__year=2026" in top
    year = client.get(f"{LIST}?timestamp__year=2026").content.decode()
    assert "timestamp__month=2" in year and "February 2026" in year
    month = client.get(f"{LIST}?timestamp__year=2026&timestamp__month=2").content.decode()
    assert "February 1</a>" in month and "February 6</a>" in month


@pytest.mark.parametrize(
    "url",
    [
        "/telemetry/",
        LIST,
        f"{LIST}?model=claude",
        f"{LIST}2/change/",
        "/telemetry/models/",
        "/telemetry/agents/",
        "/telemetry/tools/",
        "/telemetry/days/",
        f"{LIST}export.csv",
        f"{LIST}export.json",
        "/telemetry/export/stats.csv",
        "/telemetry/export/stats.json",
    ],
)
def test_head_answers_like_get_without_a_body(web, client, llm_db, url):
    get, head = client.get(url), client.head(url)
    assert head.status_code == get.status_code == 200
    assert head["Content-Type"] == get["Content-Type"]
    assert head.get("Content-Disposition") == get.get("Content-Disposition")
    assert head.content == b""
