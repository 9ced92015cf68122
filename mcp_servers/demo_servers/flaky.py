"""An MCP server that crashes now and then: the dashboard restarts it.

It dies between MIN and MAX seconds after it starts (15 to 35 by default, so the demo shows a
crash and a restart within its first minute), writing a last line on stderr first.
"""

from __future__ import annotations

import os
import random
import sys
import threading

from mcp.server.mcpserver import MCPServer

LOW, HIGH = (float(sys.argv[1]), float(sys.argv[2])) if len(sys.argv) > 2 else (15.0, 35.0)

app = MCPServer("demo-flaky")


@app.tool()
def roll(sides: int = 6) -> int:
    """Roll a die."""
    return random.randint(1, max(1, sides))


def crash() -> None:
    print("flaky: simulated crash (segfault in a native extension)", file=sys.stderr, flush=True)
    os._exit(70)


if __name__ == "__main__":
    timer = threading.Timer(random.uniform(LOW, HIGH), crash)
    timer.daemon = True
    timer.start()
    print(f"flaky: up, pid {os.getpid()}", file=sys.stderr, flush=True)
    app.run()
