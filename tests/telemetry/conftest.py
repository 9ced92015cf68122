from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from telemetry import db as db_module
from telemetry import service as service_module
from telemetry.service import TelemetryService

# A fixed clock: "today" is 2026-02-06 in UTC (and still 2026-02-06 in New York).
NOW = datetime(2026, 2, 6, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def web(settings, django_db_blocker) -> Iterator[None]:
    """Telemetry pages on their own: our URLs, no board middleware (tested with the board),
    and database access allowed for the read-only alias. The default database stays the empty
    in-memory one, so any query that touched it would fail."""
    settings.ROOT_URLCONF = "tests.telemetry.urls"
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("kanban.")]
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def use_service(monkeypatch) -> Iterator[Callable[..., TelemetryService]]:
    """Install a fresh process-wide service pointed at a file, with a fixed clock, loaded."""
    made: list[TelemetryService] = []

    def use(path: Path, time_zone: str = "UTC", now: datetime = NOW) -> TelemetryService:
        svc = TelemetryService(clock=lambda: now)
        monkeypatch.setattr(service_module, "service", svc)
        db_module.configure(path, time_zone)
        assert svc.wait_loaded(30)
        made.append(svc)
        return svc

    yield use
    for svc in made:
        svc.stop()
