"""The demo config: three tiny SDK servers, all auto_start; the flaky one crashes and comes back."""

import sys

import yaml

from mcp_servers.config import load
from mcp_servers.demo import SERVERS, demo_config
from mcp_servers.service import MCPService, wait_for


def test_the_demo_config_starts_three_servers_and_the_flaky_one_crashes_within_a_minute(tmp_path):
    defs = load([demo_config(tmp_path / "demo")])
    assert defs.problems == []
    assert set(defs.servers) == {"healthy", "slow", "flaky"}
    assert all(d.auto_start for d in defs.servers.values())
    low, high = (float(a) for a in defs.servers["flaky"].args[1:])
    assert high + 10 < 60  # crash, then the first restart (< 10 s), inside the first minute
    assert defs.servers["slow"].health_check.method == "tool_call"


def test_the_flaky_demo_server_is_restarted_after_it_crashes(tmp_path):
    path = tmp_path / "mcp.yaml"
    flaky = {"command": sys.executable, "args": [str(SERVERS / "flaky.py"), "1", "2"]}
    path.write_text(
        yaml.safe_dump(
            {
                "health_check_interval_seconds": 1,
                "startup_timeout_seconds": 20,
                "servers": {"flaky": {**flaky, "auto_start": True}},
            }
        )
    )
    svc = MCPService()
    feed: list = []
    svc.start([path], on_feed=feed.append)
    try:
        snap = wait_for(svc, lambda s: s.server("flaky").restarts >= 1, timeout=60)
        view = snap.server("flaky")
        assert "simulated crash" in view.restart_history[0].reason
        assert [f.event for f in feed].count("mcp.server.started") >= 1
        assert "mcp.server.unhealthy" in [f.event for f in feed]
    finally:
        svc.stop()
