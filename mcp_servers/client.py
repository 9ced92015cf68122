"""Talking to MCP servers through the official `mcp` SDK: connect, initialize, check, probe.

Everything protocol-shaped is the SDK's (`stdio_client`, `streamable_http_client`,
`sse_client`, `ClientSession`); this module only bounds each step with a timeout and turns
what went wrong into one sentence a person can act on.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import httpx2
import mcp_types
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.session import IncomingMessage
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from telemetry.masking import mask_secrets

from .config import ServerDefinition
from .status import ToolInfo, tools_from

log = logging.getLogger("mcp_servers")

MARKER_ENV = "DASHBOARD_MCP_INSTANCE"  # lets the supervisor find the process it spawned
MAX_TOOL_PAGES = 50


class _DropUnparsableLineTraceback(logging.Filter):
    # The SDK logs a traceback (holding the line itself) for every non-JSON stdout line; we
    # report "not JSON-RPC on stdout" once, in the server's status, instead.
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Failed to parse JSONRPC message from server"


logging.getLogger("mcp.client.stdio").addFilter(_DropUnparsableLineTraceback())


class CheckFailed(Exception):
    """A step failed in a way already put into words."""


@dataclass
class Listener:
    """What the server said besides answers: garbage on stdout, 'my tools changed'."""

    on_tools_changed: Callable[[], None] | None = None
    garbage: str | None = None
    garbage_lines: int = 0

    async def __call__(self, message: IncomingMessage) -> None:
        if isinstance(message, Exception):
            self.garbage_lines += 1
            if self.garbage is None:
                self.garbage = _first_input(message)
        elif (
            isinstance(message, mcp_types.ToolListChangedNotification)
            and self.on_tools_changed is not None
        ):
            self.on_tools_changed()


def _first_input(exc: Exception) -> str:
    # pydantic's message carries `input_value='...'`; keep a short, harmless preview.
    text = str(exc)
    marker = "input_value="
    start = text.find(marker)
    if start < 0:
        return ""
    preview = text[start + len(marker) :].split(", input_type=")[0]
    return preview[:80]


@dataclass
class Step:
    """What we were doing when time ran out: 'initialize', 'ping', 'call tool x'."""

    name: str = "connect"


def stdio_parameters(defn: ServerDefinition, marker: str | None = None) -> StdioServerParameters:
    env = dict(defn.env)
    if marker:
        env[MARKER_ENV] = marker
    assert defn.command is not None
    return StdioServerParameters(
        command=defn.command,
        args=list(defn.args),
        env=env,
        cwd=defn.cwd,
        encoding_error_handler="replace",
    )


@asynccontextmanager
async def open_session(
    defn: ServerDefinition,
    listener: Listener,
    *,
    errlog: object | None = None,
    marker: str | None = None,
    on_spawned: Callable[[], None] | None = None,
    http_timeout: float = 10.0,
) -> AsyncIterator[ClientSession]:
    """A session over the server's transport, not yet initialized."""
    if defn.is_stdio:
        params = stdio_parameters(defn, marker)
        kwargs = {"errlog": errlog} if errlog is not None else {}
        async with stdio_client(params, **kwargs) as (read, write):  # type: ignore[arg-type]
            if on_spawned is not None:
                on_spawned()
            async with ClientSession(read, write, message_handler=listener) as session:
                yield session
        return
    assert defn.url is not None
    timeout = httpx2.Timeout(http_timeout)
    if defn.transport == "sse":
        async with (
            sse_client(
                defn.url, headers=dict(defn.headers), timeout=http_timeout, sse_read_timeout=300
            ) as (read, write),
            ClientSession(read, write, message_handler=listener) as session,
        ):
            yield session
        return
    async with (
        httpx2.AsyncClient(headers=dict(defn.headers), timeout=timeout) as http,
        streamable_http_client(defn.url, http_client=http) as (read, write),
        ClientSession(read, write, message_handler=listener) as session,
    ):
        yield session


async def timed(step: Step, name: str, timeout: float, call: Awaitable[object]) -> float:
    """Run one request within `timeout`; the latency in milliseconds."""
    step.name = name
    started = time.perf_counter()
    with anyio.fail_after(timeout):
        await call
    return (time.perf_counter() - started) * 1000


async def list_tools(session: ClientSession) -> tuple[ToolInfo, ...]:
    raw: list[tuple[str, str | None]] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        result = await session.list_tools(params=params)
        raw.extend((t.name, t.description) for t in result.tools)
        cursor = result.next_cursor
        if not cursor:
            break
    return tools_from(raw)


async def health_check(session: ClientSession, defn: ServerDefinition, step: Step) -> float:
    """The configured check (ping, list tools or one tool call); its latency in ms."""
    hc = defn.health_check
    if hc.method == "ping":
        return await timed(step, "ping", hc.timeout_seconds, session.send_ping())
    if hc.method == "list_tools":
        return await timed(step, "list tools", hc.timeout_seconds, session.list_tools())
    assert hc.tool is not None
    step.name = f"call tool {hc.tool}"
    started = time.perf_counter()
    with anyio.fail_after(hc.timeout_seconds):
        result = await session.call_tool(hc.tool, dict(hc.args))
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content)[:200]
        raise CheckFailed(f"tool {hc.tool} answered with an error: {text or 'no details'}")
    return (time.perf_counter() - started) * 1000


@dataclass
class ProbeResult:
    ok: bool
    latency_ms: float | None = None
    tools: tuple[ToolInfo, ...] | None = None
    error: str | None = None
    stderr: list[str] = field(default_factory=list)


async def probe(defn: ServerDefinition, startup_timeout: float) -> ProbeResult:
    """Start (or reach), initialize, check, list tools, close: does it work for a client?"""
    from .stderr_capture import StderrCapture  # asyncio pipes: only where a loop runs

    lines: list[str] = []
    listener = Listener()
    step = Step()
    capture = StderrCapture(lines.append) if defn.is_stdio else None
    try:
        if capture is not None:
            await capture.start()
        # One scope bounds connecting and initializing by the startup timeout, then is pushed
        # back for the check and the close (an HTTP transport can hang while closing; the
        # stdio one's shutdown is shielded and bounded by the SDK).
        with anyio.fail_after(startup_timeout) as deadline:
            async with open_session(
                defn,
                listener,
                errlog=capture.writer if capture else None,
                marker=uuid.uuid4().hex,  # so a stop of the dashboard can find and end it
                on_spawned=capture.spawned if capture else None,
                http_timeout=startup_timeout,
            ) as session:
                step.name = "initialize"
                await session.initialize()
                deadline.deadline = anyio.current_time() + 2 * defn.health_check.timeout_seconds + 5
                latency = await health_check(session, defn, step)
                step.name = "list tools"
                with anyio.fail_after(defn.health_check.timeout_seconds):
                    tools = await list_tools(session)
        if listener.garbage_lines:
            # Our client skips such lines; stricter clients fail on the first one.
            return ProbeResult(
                ok=False,
                latency_ms=latency,
                tools=tools,
                error=garbage_note(listener),
                stderr=lines,
            )
        return ProbeResult(ok=True, latency_ms=latency, tools=tools, stderr=lines)
    except Exception as exc:
        if capture is not None:
            await capture.drain()
        reason = describe_error(exc, defn, step, listener, lines, startup_timeout)
        return ProbeResult(ok=False, error=reason, stderr=lines)
    finally:
        if capture is not None:
            capture.close()


def garbage_note(listener: Listener) -> str:
    first = f" (first: {mask_secrets(listener.garbage)})" if listener.garbage else ""
    return (
        f"it writes text that is not JSON-RPC on stdout ({listener.garbage_lines} line(s)"
        f"{first}); stdout is reserved for the protocol and strict clients fail on it"
    )


def leaf_errors(exc: BaseException) -> list[BaseException]:
    inner_errors = getattr(exc, "exceptions", None)  # an ExceptionGroup (a backport on 3.10)
    if isinstance(inner_errors, (list, tuple)):
        out: list[BaseException] = []
        for inner in inner_errors:
            out.extend(leaf_errors(inner))
        return out
    return [exc]


def describe_error(
    exc: BaseException,
    defn: ServerDefinition,
    step: Step,
    listener: Listener | None = None,
    stderr: list[str] | None = None,
    startup_timeout: float | None = None,
) -> str:
    """One sentence for what went wrong; never the env or headers."""
    leaves = [e for e in leaf_errors(exc) if not isinstance(e, anyio.get_cancelled_exc_class())]
    first = leaves[0] if leaves else exc
    last_stderr = f" (stderr: {stderr[-1]})" if stderr else ""
    garbage = ""
    if listener is not None and listener.garbage_lines:
        garbage = f"; it wrote {listener.garbage_lines} line(s) on stdout that are not JSON-RPC" + (
            f", first: {listener.garbage}" if listener.garbage else ""
        )
    if isinstance(first, CheckFailed):
        return str(first)
    if isinstance(first, FileNotFoundError):
        if defn.cwd and not os.path.isdir(defn.cwd):
            return f"working directory not found: {defn.cwd}"
        return f"command not found: {defn.command}"
    if isinstance(first, PermissionError):
        return f"permission denied running {defn.command}"
    if isinstance(first, TimeoutError):
        if step.name in ("connect", "initialize") and startup_timeout is not None:
            return f"no answer to {step.name} within {startup_timeout:g} s{garbage}{last_stderr}"
        return (
            f"no answer to {step.name} within {defn.health_check.timeout_seconds:g} s"
            f"{garbage}{last_stderr}"
        )
    if isinstance(first, MCPError):
        if first.code == mcp_types.CONNECTION_CLOSED:
            if defn.is_stdio:
                return f"the server exited during {step.name}{garbage}{last_stderr}"
            return f"the connection closed during {step.name}"
        return f"{step.name} failed: {first.message[:200]}"
    if isinstance(first, httpx2.ConnectError):
        return f"cannot connect to {defn.display_target} (connection refused or no route)"
    if isinstance(first, httpx2.TimeoutException):
        return f"{defn.display_target} did not answer in time"
    if isinstance(first, httpx2.HTTPStatusError):
        return f"{defn.display_target} answered HTTP {first.response.status_code}"
    if isinstance(first, httpx2.HTTPError):
        return f"HTTP error talking to {defn.display_target}: {type(first).__name__}"
    if isinstance(first, OSError):
        return f"cannot start {defn.command}: {first.strerror or first}"
    log.debug("MCP %s: unexpected error during %s", defn.name, step.name, exc_info=first)
    return f"{step.name} failed: {type(first).__name__}{garbage}{last_stderr}"
