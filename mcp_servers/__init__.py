"""MCP servers: definitions, health checks, supervision and the panel (CONTRACT section 9)."""
