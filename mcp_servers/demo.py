"""A config of tiny demo MCP servers for `rundashboard --demo`."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

SERVERS = Path(__file__).resolve().parent / "demo_servers"


def demo_config(directory: Path) -> Path:
    """Write `mcp_servers.yaml` into `directory` (healthy, slow, flaky; all auto_start)."""
    python = sys.executable
    config = {
        "health_check_interval_seconds": 10,
        "startup_timeout_seconds": 15,
        "shutdown_timeout_seconds": 5,
        "servers": {
            "healthy": {
                "command": python,
                "args": [str(SERVERS / "healthy.py")],
                "auto_start": True,
                "health_check": {"method": "list_tools", "timeout_seconds": 5},
            },
            "slow": {
                "command": python,
                "args": [str(SERVERS / "slow.py"), "1.5"],
                "auto_start": True,
                "health_check": {
                    "method": "tool_call",
                    "tool": "search",
                    "args": {"query": "health"},
                    "timeout_seconds": 5,
                },
            },
            "flaky": {
                "command": python,
                "args": [str(SERVERS / "flaky.py"), "15", "35"],
                "auto_start": True,
                "health_check": {"method": "ping", "timeout_seconds": 5},
            },
        },
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mcp_servers.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
