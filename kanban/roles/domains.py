"""The watcher's side of the other domains: the JSON each panel stands for, and the actions
web workers forward. Like `kanban.composition`, the one place that knows them all.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import composition
from ..html import COSTS_PANEL
from . import protocol as p

log = logging.getLogger("kanban.roles")


def panel_data(name: str) -> Any:
    """What a web worker answers its JSON endpoints and pages with, for one panel."""
    if name == COSTS_PANEL:
        from telemetry import service as telemetry

        return {"stats": telemetry.get_stats(), "health": telemetry.health()}
    if name == composition.OPERATIONS_PANEL:
        from telemetry.operations import service as operations

        svc = operations.service
        return {
            "listing": svc.listing(),
            "costs": svc.costs(),
            "problems": svc.problems(),
            "waiting_for": svc.waiting_for(),
            "running": svc.running_tasks(),
        }
    if name == composition.MCP_PANEL:
        from mcp_servers import service as mcp

        snap = mcp.SERVICE.snapshot()
        return {
            "servers": [s.as_json() for s in snap.servers],
            "problems": [
                {"path": pr.source, "server": pr.server, "error": pr.reason} for pr in snap.problems
            ],
        }
    return None


def carry_out(action: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One forwarded action, as the watcher's own views would do it: (HTTP status, body)."""
    if action == p.STOP_OPERATION:
        from telemetry.operations import service as operations

        operation_id = str(args.get("operation_id", ""))
        result = operations.service.request_stop(operation_id)
        if result is None:
            return 404, {"error": "no such operation"}
        log.info("operations: Stop pressed for %s on %s", operation_id, args.get("from", "?"))
        op = operations.service.get(operation_id)
        body = {"id": operation_id, "status": op and op["status"], "stop_requested": True}
        return 202, {**body, **result, "op": op}
    if action == p.MCP_ACTION:
        from mcp_servers import service as mcp

        name, verb = str(args.get("name", "")), args.get("action")
        if verb not in mcp.ACTIONS:
            return 400, {"error": f"unknown MCP action {verb!r}"}
        try:
            known = mcp.SERVICE.request(name, verb)
        except mcp.NotApplicable as exc:
            return 409, {"error": str(exc)}
        if not known:
            return 404, {"error": "no MCP server with that name"}
        log.info("MCP %s: %s requested on %s", name, verb, args.get("from", "?"))
        return 202, {"accepted": True, "server": name, "action": verb}
    if action == p.INGEST_EVENTS:
        from telemetry.operations import service as operations
        from telemetry.operations.events import EventError

        items = args.get("items")
        if not isinstance(items, list):
            return 400, {"error": "no events"}
        try:
            accepted, stop = operations.service.ingest(items)
        except EventError as exc:
            return 400, {"error": str(exc)}
        return 202, {"accepted": accepted, "stop": stop}
    return 400, {"error": f"unknown action {action!r}"}
