from pathlib import Path

from kanban import composition
from telemetry.operations import service as operations
from telemetry.operations.service import OperationsService
from telemetry.operations.stopper import Timeouts


def test_stop_escalation_waits_come_from_the_settings(settings, monkeypatch, tmp_path: Path):
    settings.DASHBOARD_STOP_GRACE_SECONDS = 1.5
    settings.DASHBOARD_STOP_TERM_GRACE_SECONDS = 0.5
    fresh = OperationsService()
    monkeypatch.setattr(operations, "service", fresh)
    try:
        composition.start_operations(tmp_path / "events")
        assert (fresh.stopper.timeouts.sigint_s, fresh.stopper.timeouts.sigterm_s) == (1.5, 0.5)
    finally:
        fresh.stop()


def test_the_default_escalation_is_the_contracts_ten_then_five_seconds():
    from dashboard_project import settings as project_settings

    assert project_settings.DASHBOARD_STOP_GRACE_SECONDS == Timeouts().sigint_s == 10.0
    assert project_settings.DASHBOARD_STOP_TERM_GRACE_SECONDS == Timeouts().sigterm_s == 5.0
