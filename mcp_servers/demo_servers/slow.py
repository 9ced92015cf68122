"""An MCP server whose tools take their time: its health check (a tool call) shows the latency."""

from __future__ import annotations

import sys
import time

from mcp.server.mcpserver import MCPServer

DELAY_S = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5

app = MCPServer("demo-slow")


@app.tool()
def search(query: str) -> str:
    """Pretend to search an index (slowly)."""
    time.sleep(DELAY_S)
    return f"no results for {query!r}"


@app.tool()
def summarize(text: str) -> str:
    """Pretend to summarize a text (slowly)."""
    time.sleep(DELAY_S)
    return text[:40]


if __name__ == "__main__":
    app.run()
