import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcp_servers.config import ServerDefinition, parse_entry

from ..server import free_port

FAKE = str(Path(__file__).with_name("fake_server.py"))


def fake(name: str, *args: str, **entry: object) -> ServerDefinition:
    """A definition running the fake SDK server with `args`."""
    return parse_entry(name, {"command": sys.executable, "args": [FAKE, *args], **entry}, "test")


def fake_entry(*args: str, **entry: object) -> dict:
    return {"command": sys.executable, "args": [FAKE, *args], **entry}


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture(scope="session")
def http_server():
    """A real streamable-HTTP MCP server on a free 127.0.0.1 port, in a subprocess."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, FAKE, "--http", str(port), "--tools", "3"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)
