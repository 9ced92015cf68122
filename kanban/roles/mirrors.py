"""Stand-ins a web worker puts in place of the services it does not run.

A web worker reads no telemetry file and tails no events: the costs and operations views,
the board page and the panels' templates ask these instead, and they answer from what the
watcher last published (`WebRelay.data`). Installed once by `install`, before serving.
"""

from __future__ import annotations

from typing import Any

from ..composition import MCP_PANEL as MCP
from ..composition import OPERATIONS_PANEL as OPERATIONS
from ..html import COSTS_PANEL as COSTS
from .web import WebRelay


class TelemetryMirror:
    """What `telemetry.service.service` answers the page and /api/stats with."""

    path = "(read by the watcher)"  # set: views must not configure a file of their own

    def __init__(self, relay: WebRelay) -> None:
        from telemetry.service import TelemetryService

        self._relay = relay
        # Until the watcher speaks: the figures of a file still loading.
        self._waiting = TelemetryService().get_stats()
        self._waiting["message"] = "waiting for the watcher"

    def _data(self) -> dict[str, Any]:
        return self._relay.data.get(COSTS) or {}

    def get_stats(self, now: Any = None) -> dict[str, Any]:
        return dict(self._data().get("stats") or self._waiting)

    def health(self) -> str:
        return str(self._data().get("health", "loading"))

    @property
    def state(self) -> str:
        return str(self.get_stats().get("state", "loading"))

    def days(self) -> dict[str, tuple[Any, ...]]:
        return {d["date"]: (d["cost"], d["tokens"], d["invocations"]) for d in self._daily()}

    def _daily(self) -> list[dict[str, Any]]:
        return list(self.get_stats().get("daily") or [])


class OperationsMirror:
    """What `telemetry.operations.service.service` answers the operations pages with."""

    def __init__(self, relay: WebRelay) -> None:
        self._relay = relay

    def _data(self) -> dict[str, Any]:
        return self._relay.data.get(OPERATIONS) or {}

    def listing(self) -> dict[str, list[dict[str, Any]]]:
        listing = self._data().get("listing") or {}
        return {
            "active": list(listing.get("active", [])),
            "recent": list(listing.get("recent", [])),
        }

    def get(self, operation_id: str) -> dict[str, Any] | None:
        listing = self.listing()
        for op in listing["active"] + listing["recent"]:
            if op.get("id") == operation_id:
                return dict(op)
        return None

    def costs(self) -> dict[str, list[dict[str, Any]]]:
        return dict(self._data().get("costs") or {})

    def problems(self) -> list[dict[str, str]]:
        return list(self._data().get("problems") or [])

    def waiting_for(self) -> str | None:
        return self._data().get("waiting_for")

    def running_tasks(self) -> dict[str, float]:
        return dict(self._data().get("running") or {})

    def panel_html(self) -> str:
        from django.template.loader import render_to_string

        from telemetry.operations.views import panel_context

        return render_to_string(
            "telemetry/operations/panel.html#panel",
            {**panel_context(self), "oob": True},  # type: ignore[arg-type]
        )


def mcp_json(relay: WebRelay) -> dict[str, Any]:
    data = relay.data.get(MCP) or {}
    return {"servers": list(data.get("servers", [])), "problems": list(data.get("problems", []))}


def install(relay: WebRelay) -> None:
    """Put the mirrors where the views and templates look for the services."""
    import telemetry.operations.service as operations
    import telemetry.service as telemetry

    telemetry.service = TelemetryMirror(relay)  # type: ignore[assignment]
    operations.service = OperationsMirror(relay)  # type: ignore[assignment]
