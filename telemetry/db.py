"""The Django side of the telemetry file: the read-only "telemetry" connection alias."""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.conf import settings
from django.db import connections

ALIAS = "telemetry"
ENGINE = "telemetry.sqlite_ro"


def alias_settings(db_path: Path) -> dict:
    """A complete DATABASES entry (what settings.py should hold, see telemetry/README)."""
    return {
        "ENGINE": ENGINE,
        "NAME": str(db_path),
        "OPTIONS": {"timeout": 4},  # seconds; CONTRACT: give up on a lock within 5 s
        "TEST": {
            "DEPENDENCIES": [],
            "CHARSET": None,
            "COLLATION": None,
            "MIGRATE": False,
            "MIRROR": None,
            "NAME": None,
        },
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
    }


def point_alias(db_path: Path) -> None:
    """Make the alias read `db_path` from now on, in every thread.

    Connection wrappers share the settings dict held by `connections.settings`, so updating
    it in place reaches all threads; the current thread's open connection is closed.
    """
    configured = connections.settings.get(ALIAS)
    if configured is None:
        connections.settings[ALIAS] = alias_settings(db_path)
    else:
        configured["NAME"] = str(db_path)
        configured["ENGINE"] = ENGINE
    # A broken old connection must not stop a reconfigure.
    with contextlib.suppress(Exception):
        connections[ALIAS].close()


def ensure_configured() -> None:
    """Views call this so that pages work even before `rundashboard` configured us."""
    from . import service

    if service.service.path is None:
        service.configure(
            Path(getattr(settings, "DASHBOARD_TELEMETRY_DB", "telemetry.db")),
            getattr(settings, "DASHBOARD_TIME_ZONE", "UTC"),
        )
