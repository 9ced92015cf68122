"""Tiny MCP servers written with the SDK, for the demo mode: healthy, slow and flaky."""
