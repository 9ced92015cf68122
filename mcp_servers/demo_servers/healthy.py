"""A well-behaved MCP server: answers at once, three tools."""

from __future__ import annotations

import datetime

from mcp.server.mcpserver import MCPServer

app = MCPServer("demo-healthy")


@app.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@app.tool()
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@app.tool()
def now() -> str:
    """The current time in UTC, ISO 8601."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


if __name__ == "__main__":
    app.run()
