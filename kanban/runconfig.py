"""What `rundashboard` resolved from its options and the environment, set once at start.

Settings stay what `settings.py` made them; everything a run decides (the token, the paths,
the role) lives here. Outside a `rundashboard` process (tests, a shell) `current()` builds the
same object from the settings, so pages still work there.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("all", "watcher", "web")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RunConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    token: str = ""
    collab_dir: Path = Path("work/collaboration")
    telemetry_db: Path = Path("telemetry.db")
    events_dir: Path = Path("work/events")
    mcp_configs: tuple[Path, ...] = field(default_factory=tuple)
    role: str = "all"
    demo: bool = False
    polling: bool = False
    proxy_headers: bool = False

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.host)


_current: RunConfig | None = None


def configure(config: RunConfig) -> None:
    """Called once by `rundashboard`, before the server starts."""
    global _current
    _current = config


def current() -> RunConfig:
    if _current is not None:
        return _current
    from django.conf import settings

    return RunConfig(
        token=settings.DASHBOARD_TOKEN,
        collab_dir=Path(settings.DASHBOARD_COLLAB_DIR),
        telemetry_db=Path(settings.DASHBOARD_TELEMETRY_DB),
        events_dir=Path(settings.DASHBOARD_EVENTS_DIR),
    )
