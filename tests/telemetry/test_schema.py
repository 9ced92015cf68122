import sqlite3

import pytest

from telemetry.schema import SchemaError, detect, read_schema, view_sql
from tests.telemetry.builders import create, row

SPEC = ["id", "timestamp", "tool", "model", "tokens", "cost", "latency_ms", "status"]
LLM = [
    "id",
    "invocation_id",
    "timestamp",
    "agent_name",
    "tool_name",
    "model_name",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "latency_ms",
    "status",
    "error_message",
    "privacy_level",
]


def test_the_spec_schema_is_recognised_from_its_columns():
    schema = detect(SPEC)
    assert schema.kind == "spec"
    assert schema.mapping["cost"] == "cost" and schema.mapping["model"] == "model"
    assert not schema.has_agent


def test_the_llm_service_schema_is_recognised_with_its_agents():
    schema = detect(LLM + ["something_new"])
    assert schema.kind == "llm"
    assert schema.mapping["cost"] == "cost_usd"
    assert schema.mapping["tokens"] == "total_tokens"
    assert schema.has_agent


def test_a_table_without_costs_is_refused_with_its_columns_named():
    with pytest.raises(SchemaError, match="cost.*columns: id, timestamp"):
        detect(["id", "timestamp"])


def test_a_fresh_empty_file_has_no_schema_yet(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    assert read_schema(sqlite3.connect(path)) is None


def test_a_database_without_invocations_is_an_error(tmp_path):
    conn = sqlite3.connect(tmp_path / "other.db")
    conn.execute("CREATE TABLE things (x)")
    with pytest.raises(SchemaError, match="no invocations table"):
        read_schema(conn)


@pytest.mark.parametrize("kind", ["spec", "llm"])
def test_the_temp_view_gives_both_schemas_one_shape(tmp_path, kind):
    path = create(tmp_path / "t.db", kind, [row("2026-02-06T14:00:00+0200", -1.0, tokens=None)])
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.create_function("tm_utc", 1, __import__("telemetry.timestamps").timestamps.utc_text)
    conn.execute(view_sql(read_schema(conn)))
    got = conn.execute(
        "SELECT id, timestamp, model_name, tokens, cost, raw_cost FROM tm_invocation"
    ).fetchall()
    assert got == [(1, "2026-02-06 12:00:00.000", "gpt-4o", 0, 0.0, -1.0)]
