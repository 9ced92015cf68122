"""Send the telemetry app's models to the read-only alias; never migrate it."""

from __future__ import annotations

from typing import Any

from .db import ALIAS


class TelemetryRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return ALIAS if model._meta.app_label == "telemetry" else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        # Nothing writes (the admin has no add/change/delete), and the connection is read-only.
        return ALIAS if model._meta.app_label == "telemetry" else None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if db == ALIAS or app_label == "telemetry":
            return False
        return None
