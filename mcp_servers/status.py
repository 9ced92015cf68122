"""What the dashboard knows about each MCP server, as plain data (no Django, no SDK).

The supervisor thread owns the mutable `ServerState`s; readers (views, the panel) get
`ServerView` snapshots, immutable copies published after each change.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

Status = Literal[
    "starting", "running", "unhealthy", "stopped", "available", "broken", "unreachable"
]
STATUSES: tuple[Status, ...] = (
    "starting",
    "running",
    "unhealthy",
    "stopped",
    "available",
    "broken",
    "unreachable",
)
FeedEvent = Literal[
    "mcp.server.started", "mcp.server.stopped", "mcp.server.unhealthy", "mcp.tools.discovered"
]

HISTORY = 20  # checks and restarts kept per server
STDERR_LINES = 40
DESCRIPTION_CHARS = 300


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class FeedItem:
    """One activity-feed entry for the lead's feed: `event`, the server's name, a sentence."""

    event: FeedEvent
    server: str
    text: str
    at: datetime = field(default_factory=now_utc)


@dataclass(frozen=True)
class ToolInfo:
    name: str
    description: str = ""


@dataclass(frozen=True)
class CheckRecord:
    at: datetime
    ok: bool
    latency_ms: float | None
    detail: str


@dataclass(frozen=True)
class RestartRecord:
    at: datetime
    reason: str
    delay_s: float


@dataclass
class ServerState:
    name: str
    transport: str
    target: str  # command line or public URL, for the detail page
    status: Status = "stopped"
    managed: bool = False
    tools: tuple[ToolInfo, ...] = ()
    tools_known: bool = False
    last_check: datetime | None = None
    latency_ms: float | None = None
    started_at: float | None = None  # wall clock, for uptime
    restarts: int = 0
    pid: int | None = None
    rss_mb: float | None = None
    cpu_pct: float | None = None
    error: str | None = None
    next_restart_at: float | None = None
    checks: deque[CheckRecord] = field(default_factory=lambda: deque(maxlen=HISTORY))
    restart_history: deque[RestartRecord] = field(default_factory=lambda: deque(maxlen=HISTORY))
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_LINES))

    def view(self) -> ServerView:
        return ServerView(
            name=self.name,
            transport=self.transport,
            target=self.target,
            status=self.status,
            managed=self.managed,
            tools=self.tools,
            last_check=self.last_check,
            latency_ms=self.latency_ms,
            started_at=self.started_at,
            restarts=self.restarts,
            pid=self.pid,
            rss_mb=self.rss_mb,
            cpu_pct=self.cpu_pct,
            error=self.error,
            checks=tuple(reversed(self.checks)),
            restart_history=tuple(reversed(self.restart_history)),
            stderr=tuple(self.stderr),
            next_restart_in_s=(
                max(0.0, self.next_restart_at - time.monotonic())
                if self.next_restart_at is not None
                else None
            ),
        )


@dataclass(frozen=True)
class ServerView:
    name: str
    transport: str
    target: str
    status: Status
    managed: bool
    tools: tuple[ToolInfo, ...]
    last_check: datetime | None
    latency_ms: float | None
    started_at: float | None
    restarts: int
    pid: int | None
    rss_mb: float | None
    cpu_pct: float | None
    error: str | None
    checks: tuple[CheckRecord, ...] = ()
    restart_history: tuple[RestartRecord, ...] = ()
    stderr: tuple[str, ...] = ()
    next_restart_in_s: float | None = None

    @property
    def uptime_s(self) -> float | None:
        if self.started_at is None or self.status not in ("running", "unhealthy"):
            return None
        return max(0.0, time.time() - self.started_at)

    @property
    def actions(self) -> tuple[str, ...]:
        """The buttons that apply: only stdio servers are started here, and only once."""
        if self.transport != "stdio":
            return ()
        if self.managed:
            return ("restart", "stop")
        return ("start",)

    @property
    def startable(self) -> bool:
        return "start" in self.actions

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "transport": self.transport,
            "status": self.status,
            "managed": self.managed,
            "tools": [{"name": t.name, "description": t.description} for t in self.tools],
            "last_check": self.last_check.isoformat() if self.last_check else None,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "uptime_s": None if (up := self.uptime_s) is None else round(up, 1),
            "restarts": self.restarts,
            "pid": self.pid,
            "rss_mb": None if self.rss_mb is None else round(self.rss_mb, 1),
            "cpu_pct": None if self.cpu_pct is None else round(self.cpu_pct, 1),
            "error": self.error,
        }


def tools_from(raw: list[tuple[str, str | None]]) -> tuple[ToolInfo, ...]:
    out = []
    for name, description in raw:
        text = " ".join((description or "").split())
        if len(text) > DESCRIPTION_CHARS:
            text = text[: DESCRIPTION_CHARS - 1] + "…"
        out.append(ToolInfo(name=name, description=text))
    return tuple(out)


def tools_change_text(old: tuple[ToolInfo, ...], new: tuple[ToolInfo, ...], first: bool) -> str:
    """The feed sentence for a tool list that changed (or was seen for the first time)."""
    names_old = {t.name for t in old}
    names_new = {t.name for t in new}
    if first:
        return f"{len(new)} tool{'s' if len(new) != 1 else ''} discovered"
    added = sorted(names_new - names_old)
    removed = sorted(names_old - names_new)
    parts = []
    if added:
        parts.append("added " + _some(added))
    if removed:
        parts.append("removed " + _some(removed))
    if not parts:
        parts.append("descriptions changed")
    return f"tools changed: {'; '.join(parts)} ({len(new)} now)"


def _some(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
