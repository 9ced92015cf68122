"""Probing real MCP servers (the SDK's MCPServer) over stdio and streamable HTTP."""

import anyio
import pytest

from mcp_servers.client import probe
from mcp_servers.config import parse_entry

from ..server import free_port
from .conftest import fake

STARTUP = 15.0  # generous: a loaded two-core machine needs ~3 s to import the SDK


def run_probe(defn, startup=STARTUP):
    return anyio.run(probe, defn, startup)


def test_a_healthy_stdio_server_is_available_with_its_tools_and_latency():
    result = run_probe(fake("ok", "--tools", "2"))
    assert result.ok, result.error
    assert [t.name for t in result.tools] == ["tool_000", "tool_001", "slow"]
    assert result.tools[0].description == "Fake tool number 0."
    assert result.latency_ms is not None and result.latency_ms > 0


def test_a_configured_tool_call_is_the_check():
    defn = fake("ok", health_check={"method": "tool_call", "tool": "tool_001", "args": {"x": "y"}})
    assert run_probe(defn).ok
    missing = fake("ok", health_check={"method": "tool_call", "tool": "no_such_tool"})
    result = run_probe(missing)
    assert not result.ok
    assert "no_such_tool" in result.error


def test_a_slow_check_fails_with_its_timeout():
    defn = fake(
        "slow",
        "--slow-tool",
        "5",
        health_check={"method": "tool_call", "tool": "slow", "timeout_seconds": 0.5},
    )
    result = run_probe(defn)
    assert not result.ok
    assert result.error == "no answer to call tool slow within 0.5 s"


def test_a_command_that_does_not_exist_is_broken_with_that_reason():
    defn = parse_entry("nope", {"command": "no-such-mcp-server-xyz"}, "test")
    result = run_probe(defn)
    assert not result.ok
    assert result.error == "command not found: no-such-mcp-server-xyz"


def test_a_server_exiting_at_once_says_so_with_its_last_stderr_line():
    result = run_probe(fake("dies", "--exit-at-once"))
    assert not result.ok
    assert "exited during initialize" in result.error
    assert "cannot open the index" in result.error


def test_a_server_hanging_in_initialize_times_out_without_hanging_us():
    result = run_probe(fake("hangs", "--hang"), startup=2)
    assert not result.ok
    assert result.error.startswith("no answer to initialize within 2 s")
    assert "hanging before initialize" in result.error


def test_garbage_on_stdout_is_broken_with_the_first_line_shown():
    result = run_probe(fake("noisy", "--garbage"))
    assert not result.ok
    assert "not JSON-RPC on stdout" in result.error
    assert "Welcome to my MCP server" in result.error
    assert result.tools  # it works for our client, so its tools are still known


def test_hundreds_of_tools_are_all_listed():
    result = run_probe(fake("big", "--tools", "400"))
    assert result.ok, result.error
    assert len(result.tools) == 401


def test_an_http_server_is_reached_at_its_url(http_server):
    defn = parse_entry("web", {"type": "http", "url": http_server, "headers": {"X-A": "b"}}, "t")
    result = run_probe(defn)
    assert result.ok, result.error
    assert len(result.tools) == 4


def test_an_http_url_that_refuses_is_unreachable_with_the_reason():
    url = f"http://127.0.0.1:{free_port()}/mcp"
    result = run_probe(parse_entry("web", {"type": "http", "url": url}, "t"))
    assert not result.ok
    assert result.error.startswith(f"cannot connect to {url}")


@pytest.mark.parametrize("kind", ["http", "sse"])
def test_a_url_that_never_answers_times_out(kind):
    import socket

    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
        defn = parse_entry("mute", {"type": kind, "url": url}, "t")
        result = run_probe(defn, startup=1)
    assert not result.ok
    assert result.error
