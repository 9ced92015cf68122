"""Live operations over HTTP (CONTRACT section 8): producers' POST /api/events, the JSON API,
Stop, the history page and an operation's page."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from dashboard_project.actions import action_view

from . import service as service_module
from .book import STATUSES
from .events import EventError

log = logging.getLogger("telemetry.operations")

MAX_BODY = 1024 * 1024
RECENT_IN_PANEL = 8


def _service() -> service_module.OperationsService:
    return service_module.service


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


# Producers are scripts, not pages: no CSRF token. The JSON content type (a page cannot send it
# cross-site without a preflight) and the global Origin check keep pages out.
@csrf_exempt
@require_POST
def api_events(request: HttpRequest) -> JsonResponse:
    if request.content_type != "application/json":
        return _error(415, "send events as Content-Type: application/json")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "bad Content-Length")
    if length > MAX_BODY:
        return _error(413, "over 1 MiB: send fewer events per request")
    body = request.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _error(413, "over 1 MiB: send fewer events per request")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return _error(400, f"bad JSON: {exc}"[:300])
    items = data if isinstance(data, list) else [data]
    try:
        accepted, stop = _service().ingest(items)
    except EventError as exc:
        return _error(400, str(exc))
    return JsonResponse({"accepted": accepted, "stop": stop}, status=202)


@require_safe
def api_operations(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_service().listing())


@require_safe
def api_operation(request: HttpRequest, operation_id: str) -> JsonResponse:
    op = _service().get(operation_id)
    if op is None:
        return _error(404, "no such operation")
    return JsonResponse(op)


@action_view
def stop_operation(request: HttpRequest, operation_id: str) -> HttpResponse:
    svc = _service()
    result = svc.request_stop(operation_id)
    if result is None:
        return _error(404, "no such operation")
    log.info(
        "operations: Stop pressed for %s from %s", operation_id, request.META.get("REMOTE_ADDR")
    )
    op = svc.get(operation_id)
    if getattr(request, "htmx", False) and op is not None:
        html = render_to_string(
            "telemetry/operations/panel.html#operation", {"op": _view(op, time.time())}, request
        )
        return HttpResponse(html, status=202)
    return JsonResponse(
        {"id": operation_id, "status": op and op["status"], "stop_requested": True, **result},
        status=202,
    )


@require_safe
def operations_page(request: HttpRequest) -> HttpResponse:
    svc = _service()
    listing = svc.listing()
    everything = listing["active"] + listing["recent"]
    filters = {k: request.GET.get(k, "") for k in ("agent", "model", "status")}
    shown = [op for op in everything if all(not v or op.get(k) == v for k, v in filters.items())]
    now = time.time()
    return render(
        request,
        "telemetry/operations/page.html",
        {
            "operations": [_view(op, now) for op in shown],
            "filters": filters,
            "agents": sorted({op["agent"] for op in everything if op["agent"]}),
            "models": sorted({op["model"] for op in everything if op["model"]}),
            "statuses": STATUSES,
            "total": len(everything),
            "costs": svc.costs(),
            "problems": svc.problems(),
        },
    )


@require_safe
def operation_detail(request: HttpRequest, operation_id: str) -> HttpResponse:
    op = _service().get(operation_id)
    if op is None:
        raise Http404("no such operation")
    return render(request, "telemetry/operations/detail.html", {"op": _view(op, time.time())})


def _view(op: dict[str, Any], now: float) -> dict[str, Any]:
    """What the templates need beyond the JSON."""
    live = op["status"] in ("running", "stopping")
    elapsed = now - op["started_ts"] if live else op["elapsed_s"]
    return {
        **op,
        "live": live,
        "elapsed_text": elapsed_text(elapsed),
        "tokens": op["prompt_tokens"] + op["completion_tokens"],
    }


def elapsed_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def panel_context(svc: service_module.OperationsService) -> dict[str, Any]:
    listing = svc.listing()
    now = time.time()
    return {
        "ops": {
            "active": [_view(op, now) for op in listing["active"]],
            "recent": [_view(op, now) for op in listing["recent"][:RECENT_IN_PANEL]],
            "waiting_for": svc.waiting_for(),
        }
    }
