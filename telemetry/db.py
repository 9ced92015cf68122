"""The Django side of the telemetry file: the read-only "telemetry" connection alias.

The alias itself is declared once, in dashboard_project/settings.py (DATABASES["telemetry"]);
here it is pointed at the file the reader follows, so the drill-down and the figures agree.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from . import service

ALIAS = "telemetry"
ENGINE = "telemetry.sqlite_ro"


def point_alias(db_path: Path) -> None:
    """Make the alias read `db_path` from now on, in every thread.

    Connection wrappers share the settings dict held by `connections.settings`, so updating
    it in place reaches all threads; the current thread's open connection is closed.
    """
    configured = connections.settings.get(ALIAS)
    if configured is None:
        raise ImproperlyConfigured(f"DATABASES has no {ALIAS!r} entry (see settings.py)")
    configured["NAME"] = str(db_path)
    configured["ENGINE"] = ENGINE
    # A broken old connection must not stop a reconfigure.
    with contextlib.suppress(Exception):
        connections[ALIAS].close()


def configure(db_path: Path, time_zone: str = "UTC") -> None:
    """Point the reader and the Django alias at `db_path` (what rundashboard calls)."""
    service.configure(db_path, time_zone)
    point_alias(db_path)


def ensure_configured() -> None:
    """Views call this so that pages work even before `rundashboard` configured us."""
    if service.service.path is None:
        configure(
            Path(getattr(settings, "DASHBOARD_TELEMETRY_DB", "telemetry.db")),
            getattr(settings, "DASHBOARD_TIME_ZONE", "UTC"),
        )
