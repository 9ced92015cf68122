"""A time limit on the drill-down's queries to the telemetry file.

A filter or search over a million rows may scan for long; a request must not. SQLite calls a
progress handler every few thousand virtual-machine steps, and a non-zero answer interrupts the
statement ("interrupted"), which this module turns into `QueryTooSlow`. Installed through Django's
`execute_wrapper`, so it reaches a connection that does not exist yet and stays in force while a
streaming cursor fetches. (It cannot interrupt a Python function SQLite calls, such as REGEXP:
those lookups are refused before any query, see telemetry.admin.)
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

from .db import ALIAS

STEPS_BETWEEN_CHECKS = 10_000  # about a millisecond of SQLite work


class QueryTooSlow(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The query took longer than {seconds:g} s and was stopped. Narrow it down with "
            "the filters, the date drill-down or a more precise search, then try again."
        )
        self.seconds = seconds


def limit_seconds() -> float:
    return float(settings.DASHBOARD_QUERY_SECONDS)


@contextlib.contextmanager
def query_deadline(seconds: float | None = None) -> Iterator[None]:
    """Every query on the telemetry alias in this thread must finish `seconds` from now."""
    seconds = limit_seconds() if seconds is None else seconds
    deadline = time.monotonic() + seconds
    expired = False
    installed: list[sqlite3.Connection] = []

    def progress() -> int:
        nonlocal expired
        if time.monotonic() > deadline:
            expired = True
            return 1
        return 0

    def wrapper(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        raw = context["connection"].connection
        if raw is not None and not any(raw is c for c in installed):
            raw.set_progress_handler(progress, STEPS_BETWEEN_CHECKS)
            installed.append(raw)
        return execute(sql, params, many, context)

    try:
        with connections[ALIAS].execute_wrapper(wrapper):
            yield
    except DatabaseError as exc:
        if expired:
            raise QueryTooSlow(seconds) from exc
        raise
    finally:
        for raw in installed:
            # A connection closed meanwhile has nothing left to clean.
            with contextlib.suppress(sqlite3.Error):
                raw.set_progress_handler(None, 0)
