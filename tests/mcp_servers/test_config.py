"""Definitions from .mcp.json and mcp_servers.yaml: good entries load, bad ones are listed."""

import json
from pathlib import Path

import pytest

from mcp_servers.config import Settings, check_path, load, signature

SECRET = "sk-live-0123456789abcdef"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def mcp_json(tmp_path: Path, servers: dict) -> Path:
    return write(tmp_path / ".mcp.json", json.dumps({"mcpServers": servers}))


def test_it_reads_stdio_and_http_servers_from_mcp_json(tmp_path):
    path = mcp_json(
        tmp_path,
        {
            "files": {"command": "npx", "args": ["-y", "server-files"], "env": {"KEY": SECRET}},
            "remote": {"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"X": "y"}},
            "events": {"type": "sse", "url": "http://127.0.0.1:9000/sse"},
        },
    )
    defs = load([path])
    assert defs.problems == []
    files = defs.servers["files"]
    assert (files.transport, files.command, files.args) == ("stdio", "npx", ("-y", "server-files"))
    assert files.env == {"KEY": SECRET}
    assert files.auto_start is False
    assert defs.servers["remote"].transport == "http"
    assert defs.servers["remote"].headers == {"X": "y"}
    assert defs.servers["events"].transport == "sse"


def test_it_reads_the_adr_034_yaml_shape_with_its_globals(tmp_path):
    path = write(
        tmp_path / "config" / "mcp_servers.yaml",
        """
health_check_interval_seconds: 12
startup_timeout_seconds: 4
shutdown_timeout_seconds: 2.5
servers:
  git:
    command: uvx
    args: [mcp-server-git]
    env: {GIT_TOKEN: abc}
    auto_start: true
    health_check:
      method: tool_call
      tool: git_status
      args: {repo_path: .}
      timeout_seconds: 3
  plain:
    command: plain-server
""",
    )
    defs = load([path])
    assert defs.problems == []
    assert defs.settings == Settings(12.0, 4.0, 2.5)
    git = defs.servers["git"]
    assert git.auto_start is True
    assert git.health_check.method == "tool_call"
    assert git.health_check.tool == "git_status"
    assert git.health_check.args == {"repo_path": "."}
    assert git.health_check.timeout_seconds == 3.0
    assert defs.servers["plain"].health_check.method == "ping"


def test_the_yaml_globals_apply_to_servers_from_mcp_json_too(tmp_path):
    json_path = mcp_json(tmp_path, {"a": {"command": "a"}})
    yaml_path = write(tmp_path / "x.yml", "health_check_interval_seconds: 7\n")
    defs = load([json_path, yaml_path])
    assert set(defs.servers) == {"a"}
    assert defs.settings.health_check_interval_seconds == 7.0
    assert load([json_path]).settings == Settings()


def test_bad_entries_are_listed_with_a_reason_and_the_others_still_load(tmp_path):
    path = write(
        tmp_path / "mcp_servers.yaml",
        """
startup_timeout_seconds: -1
servers:
  good: {command: ok-server}
  no-command: {args: [x]}
  bad-args: {command: x, args: "--flag"}
  bad-method: {command: x, health_check: {method: shout}}
  tool-without-name: {command: x, health_check: {method: tool_call}}
  bad-timeout: {command: x, health_check: {timeout_seconds: 0}}
  bad-url: {type: http, url: "ftp://x"}
  odd-type: {type: websocket, url: "http://x"}
  not-a-mapping: [1, 2]
  "has space": {command: x}
  auto-http: {type: http, url: "http://x/mcp", auto_start: true}
""",
    )
    defs = load([path])
    assert set(defs.servers) == {"good"}
    reasons = {p.server: p.reason for p in defs.problems if p.server}
    assert "command" in reasons["no-command"]
    assert "args" in reasons["bad-args"]
    assert "ping, list_tools, tool_call" in reasons["bad-method"]
    assert "tool" in reasons["tool-without-name"]
    assert "timeout_seconds" in reasons["bad-timeout"]
    assert "http://" in reasons["bad-url"]
    assert "websocket" in reasons["odd-type"]
    assert "mapping" in reasons["not-a-mapping"]
    assert "letters, digits" in reasons["has space"]
    assert "stdio servers only" in reasons["auto-http"]
    assert any("startup_timeout_seconds" in p.reason for p in defs.problems if not p.server)
    assert defs.settings.startup_timeout_seconds == Settings().startup_timeout_seconds


def test_broken_files_are_problems_not_crashes(tmp_path):
    bad_json = write(tmp_path / "a" / ".mcp.json", '{"mcpServers": {"x": ')
    bad_yaml = write(tmp_path / "b.yaml", "servers: [unclosed\n")
    not_utf8 = tmp_path / "c.yaml"
    not_utf8.write_bytes(b"servers:\n  x: {command: \xff}\n")
    no_key = write(tmp_path / "d" / ".mcp.json", '{"servers": {}}')
    wrong_ext = write(tmp_path / "e.toml", "x = 1")
    good = mcp_json(tmp_path, {"ok": {"command": "ok"}})
    defs = load([bad_json, bad_yaml, not_utf8, no_key, wrong_ext, good])
    assert set(defs.servers) == {"ok"}
    by_source = {p.source: p.reason for p in defs.problems}
    assert "not valid JSON" in by_source[str(bad_json)]
    assert "not valid YAML" in by_source[str(bad_yaml)]
    assert "UTF-8" in by_source[str(not_utf8)]
    assert "mcpServers" in by_source[str(no_key)]
    assert ".json, .yaml or .yml" in by_source[str(wrong_ext)]


def test_a_missing_file_is_not_a_problem(tmp_path):
    defs = load([tmp_path / ".mcp.json", tmp_path / "config" / "mcp_servers.yaml"])
    assert defs.servers == {} and defs.problems == []


def test_a_name_defined_twice_keeps_the_first_and_says_so(tmp_path):
    first = mcp_json(tmp_path, {"dup": {"command": "first"}})
    second = write(tmp_path / "s.yaml", "servers:\n  dup: {command: second}\n")
    defs = load([first, second])
    assert defs.servers["dup"].command == "first"
    assert [p.server for p in defs.problems] == ["dup"]
    assert "also defined in" in defs.problems[0].reason


def test_env_and_header_values_never_appear_in_reprs_or_reasons(tmp_path):
    path = mcp_json(
        tmp_path,
        {
            "ok": {"command": "x", "env": {"API_KEY": SECRET}},
            "web": {
                "type": "http",
                "url": "https://u:pw@h.example/mcp?k=1",
                "headers": {"A": SECRET},
            },
            "bad": {"command": "x", "env": {"API_KEY": [SECRET]}},
        },
    )
    defs = load([path])
    assert SECRET not in repr(defs)
    assert SECRET not in " ".join(str(p) for p in defs.problems)
    assert "API_KEY" in str(defs.problems[0])
    assert defs.servers["web"].display_target == "https://h.example/mcp"


def test_the_signature_changes_when_a_file_is_edited_created_or_removed(tmp_path):
    path = tmp_path / ".mcp.json"
    before = signature([path])
    mcp_json(tmp_path, {"a": {"command": "a"}})
    created = signature([path])
    assert created != before
    path.write_text(json.dumps({"mcpServers": {"a": {"command": "abc"}}}))
    assert signature([path]) != created
    path.unlink()
    assert signature([path]) == before


def test_an_explicit_config_path_must_exist_and_parse(tmp_path):
    good = mcp_json(tmp_path, {"a": {"command": "a"}})
    assert check_path(good) == good
    with pytest.raises(ValueError, match="no such file"):
        check_path(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match="not valid YAML"):
        check_path(write(tmp_path / "bad.yaml", "a: [b\n"))
