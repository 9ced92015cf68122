"""Every drill-down query has a time limit: over it, a clear 503 instead of a request that
scans for minutes (security review finding 1, second half)."""

from __future__ import annotations

import pytest

from tests.telemetry.builders import create, row

LIST = "/telemetry/telemetry/invocation/"


@pytest.fixture
def big(tmp_path, use_service):
    return use_service(create(tmp_path / "t.db", "llm", [row("2026-02-06T10:00:00Z")] * 20_000))


@pytest.mark.parametrize("url", [f"{LIST}?q=nothing-matches", f"{LIST}export.csv?q=nothing"])
def test_a_query_over_its_time_limit_answers_503_with_a_message(web, client, settings, big, url):
    settings.DASHBOARD_QUERY_SECONDS = 0
    response = client.get(url)
    assert response.status_code == 503
    assert "took longer than 0 s and was stopped" in response.content.decode()


def test_the_limit_applies_per_request(web, client, settings, big):
    settings.DASHBOARD_QUERY_SECONDS = 0
    assert client.get(f"{LIST}?q=x").status_code == 503
    settings.DASHBOARD_QUERY_SECONDS = 30
    response = client.get(f"{LIST}?q=gpt")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 50
