from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from telemetry.operations import service as service_module
from telemetry.operations.service import OperationsService
from telemetry.operations.stopper import Timeouts

# Short escalation for tests: the contract's 10 s / 5 s would make each test slow.
FAST = Timeouts(cooperative_s=0.3, sigint_s=1.0, sigterm_s=1.0, sigkill_s=2.0, poll_s=0.02)


@pytest.fixture
def ops(monkeypatch) -> Iterator[OperationsService]:
    """A fresh process-wide operations service, stopped afterwards."""
    svc = OperationsService(timeouts=FAST)
    monkeypatch.setattr(service_module, "service", svc)
    yield svc
    svc.stop()


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="127.0.0.1:8080")
