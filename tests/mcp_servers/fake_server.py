"""A real MCP server (the official SDK's MCPServer) that misbehaves on request, for the tests.

python fake_server.py [--tools N] [--slow-tool S] [--crash-after S] [--exit-at-once]
                      [--garbage] [--hang] [--add-tool-after S] [--leak-mb N]
                      [--http PORT] [--stderr TEXT] [--stubborn]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tools", type=int, default=2)
    parser.add_argument("--slow-tool", type=float, default=0.0)
    parser.add_argument("--crash-after", type=float, default=0.0)
    parser.add_argument("--exit-at-once", action="store_true")
    parser.add_argument("--garbage", action="store_true")
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--add-tool-after", type=float, default=0.0)
    parser.add_argument("--leak-mb", type=float, default=0.0, help="MB to grow by per second")
    parser.add_argument("--http", type=int, default=0)
    parser.add_argument("--stderr", default="")
    parser.add_argument("--stubborn", action="store_true", help="ignore SIGTERM and stdin's close")
    opts = parser.parse_args()

    if opts.stderr:
        print(opts.stderr, file=sys.stderr, flush=True)
    if opts.exit_at_once:
        print("fatal: cannot open the index (exiting at once)", file=sys.stderr, flush=True)
        sys.exit(3)
    if opts.hang:  # never reads stdin, never answers initialize
        print("hanging before initialize", file=sys.stderr, flush=True)
        time.sleep(3600)
    if opts.garbage:  # a banner on stdout: the classic mistake
        print("Welcome to my MCP server v1.0!", flush=True)
        print("Loading plugins...", flush=True)

    from mcp.server.mcpserver import MCPServer

    app = MCPServer("fake")

    def make_tool(i: int):
        def tool(x: str = "") -> str:
            return f"{i}:{x}"

        tool.__name__ = f"tool_{i:03d}"
        tool.__doc__ = f"Fake tool number {i}."
        return tool

    for i in range(opts.tools):
        app.add_tool(make_tool(i))

    @app.tool()
    def slow(x: str = "") -> str:
        """Sleeps before answering."""
        time.sleep(opts.slow_tool)
        return x

    if opts.add_tool_after:

        def late_tool(x: str = "") -> str:
            """Appeared later."""
            return x

        def add() -> None:
            time.sleep(opts.add_tool_after)
            app.add_tool(late_tool)
            print("added late_tool", file=sys.stderr, flush=True)

        threading.Thread(target=add, daemon=True).start()

    if opts.crash_after:

        def crash() -> None:
            time.sleep(opts.crash_after)
            print("crashing now, token=abc123secret", file=sys.stderr, flush=True)
            os._exit(70)

        threading.Thread(target=crash, daemon=True).start()

    if opts.leak_mb:
        hoard: list[bytes] = []

        def leak() -> None:
            while True:
                hoard.append(b"x" * int(opts.leak_mb * 1024 * 1024))
                time.sleep(1)

        threading.Thread(target=leak, daemon=True).start()

    if opts.stubborn:
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        threading.Thread(target=time.sleep, args=(3600,)).start()  # keeps the process alive

    if opts.http:
        app.run("streamable-http", host="127.0.0.1", port=opts.http)
    else:
        app.run()


if __name__ == "__main__":
    main()
