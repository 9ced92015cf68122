"""The MCP panel and page, rendered from one template's named partials."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from .service import Snapshot

TEMPLATE = "mcp_servers/mcp.html"
HEALTHY = ("running", "available")


def context(snapshot: Snapshot) -> dict[str, Any]:
    servers = snapshot.servers
    return {
        "snapshot": snapshot,
        "summary": {
            "total": len(servers),
            "healthy": sum(1 for s in servers if s.status in HEALTHY),
            "managed": sum(1 for s in servers if s.managed),
            "tools": sum(len(s.tools) for s in servers),
        },
    }


def panel_html(snapshot: Snapshot) -> str:
    """`#mcp-servers` as one top-level element carrying hx-swap-oob, for the WebSocket."""
    return render_to_string(f"{TEMPLATE}#panel", context(snapshot)).strip()
