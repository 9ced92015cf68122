"""Helpers for the edge's tests: a run-config in force for one test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kanban import runconfig
from kanban.runconfig import RunConfig


@contextmanager
def running_with(**fields: Any) -> Iterator[RunConfig]:
    saved = runconfig._current
    config = RunConfig(**fields)
    runconfig.configure(config)
    try:
        yield config
    finally:
        runconfig._current = saved
