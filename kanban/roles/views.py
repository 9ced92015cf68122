"""The HTTP edge of the two roles: health, forwarded actions, and pages the watcher renders.

Everything else a web worker serves is the ordinary views, reading the mirrored state.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.encoding import escape_uri_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from dashboard_project.actions import action_view

from .. import runtime
from . import mirrors, pages
from . import protocol as p
from . import watcher as watcher_role
from . import web as web_role

log = logging.getLogger("kanban.roles")

MAX_EVENTS_BODY = 1024 * 1024


def _web() -> web_role.WebRelay:
    assert web_role.relay is not None, "a web view outside a web worker"
    return web_role.relay


# -- health -----------------------------------------------------------------------------------


@require_safe
def web_health(request: HttpRequest) -> JsonResponse:
    relay = _web()
    # The watcher's own view of the workspace, as it last reported it.
    seen = relay.watcher_health
    board = runtime.STATE.board
    return JsonResponse(
        {
            **relay.health(),
            "role": "web",
            "watcher": seen.get("watcher", "stopped") if not relay.reason() else "unknown",
            "tasks": board.counts["total"],
            "telemetry": seen.get("telemetry", "loading"),
            "problems": len(board.problems),
            "reading": seen.get("reading", 0),
            "waiting_for": seen.get("waiting_for"),
        }
    )


@require_safe
def watcher_health(request: HttpRequest) -> JsonResponse:
    from ..views import health_fields

    fields = health_fields()
    relay = watcher_role.relay
    if relay is not None:
        fields.update(relay.health())
    return JsonResponse(fields)


def watcher_only(request: HttpRequest, rest: str = "") -> HttpResponse:
    return HttpResponse(
        "This is the dashboard's watcher: it serves only /health. "
        "Pages are served by the web workers (rundashboard --role web).\n",
        status=404,
        content_type="text/plain; charset=utf-8",
    )


# -- actions, carried out by the watcher --------------------------------------------------


async def _forward(request: HttpRequest, action: str, args: dict[str, Any]) -> tuple[int, Any]:
    args = {**args, "from": str(request.META.get("REMOTE_ADDR", "?"))}
    try:
        return await _web().forward(action, args)
    except web_role.NoWatcher as exc:
        log.warning("relay: %s not carried out: %s", action, exc)
        return 503, {"error": f"Not carried out: {exc}."}


@action_view
async def stop_operation(request: HttpRequest, operation_id: str) -> HttpResponse:
    status, body = await _forward(request, p.STOP_OPERATION, {"operation_id": operation_id})
    op = body.pop("op", None) if isinstance(body, dict) else None
    if status == 202 and getattr(request, "htmx", False) and op is not None:
        from telemetry.operations.views import _view

        context = {"op": _view(op, time.time())}
        html = render_to_string("telemetry/operations/panel.html#operation", context, request)
        return HttpResponse(html, status=202)
    return JsonResponse(body, status=status)


@action_view
async def mcp_action(request: HttpRequest, name: str, action: str) -> JsonResponse:
    status, body = await _forward(request, p.MCP_ACTION, {"name": name, "action": action})
    return JsonResponse(body, status=status)


# Producers are scripts, not pages (see telemetry.operations.views.api_events).
@csrf_exempt
@require_POST
async def api_events(request: HttpRequest) -> JsonResponse:
    if request.content_type != "application/json":
        return JsonResponse({"error": "send events as Content-Type: application/json"}, status=415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"error": "bad Content-Length"}, status=400)
    body = request.body if length <= MAX_EVENTS_BODY else b""
    if length > MAX_EVENTS_BODY or len(body) > MAX_EVENTS_BODY:
        return JsonResponse({"error": "over 1 MiB: send fewer events per request"}, status=413)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return JsonResponse({"error": f"bad JSON: {exc}"[:300]}, status=400)
    items = data if isinstance(data, list) else [data]
    status, answer = await _forward(request, p.INGEST_EVENTS, {"items": items})
    return JsonResponse(answer, status=status)


# -- what the watcher published --------------------------------------------------------------


@require_safe
def api_mcp(request: HttpRequest) -> JsonResponse:
    return JsonResponse(mirrors.mcp_json(_web()))


# -- pages that read the workspace, rendered by the watcher -----------------------------------


async def relayed_page(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """A page on `pages.RELAYED`, rendered by the watcher: as on a `--role all` dashboard."""
    why = pages.refusal(request.method or "", request.path_info, pages.query_of(request))
    if why:
        if request.method in pages.SAFE_METHODS and not request.path_info.endswith("/"):
            slashed = request.path_info + "/"
            if not pages.refusal(request.method, slashed, ""):
                return HttpResponsePermanentRedirect(escape_uri_path(slashed))
        status = 405 if request.method not in pages.SAFE_METHODS else 404
        return _relay_failed(request, status, "Not found", f"{why}.")
    try:
        answer = await _web().fetch_page(await sync_to_async(pages.page_request)(request))
    except web_role.NoWatcher as exc:
        log.warning("relay: page %s not served: %s", request.path_info, exc)
        return _relay_failed(
            request,
            503,
            "The watcher did not answer",
            f"This page is rendered by the dashboard's watcher (rundashboard --role watcher), "
            f"and {exc}.",
        )
    response = HttpResponse(
        answer.get("body") or b"",
        status=int(answer.get("status") or 502),
        content_type=str(answer.get("content_type") or "text/plain; charset=utf-8"),
    )
    headers = answer.get("headers") or {}
    for name in pages.RELAYED_HEADERS:
        value = headers.get(name)
        if isinstance(value, str) and (name != "location" or pages.local_location(value)):
            response[name] = value
    return response


def _relay_failed(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if request.path_info.endswith((".csv", ".json")) or request.GET.get("raw"):
        return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    context = {"title": title, "message": message}
    return render(request, "kanban/roles/relay_failed.html", context, status=status)


async def task_detail(request: HttpRequest, task_id: str) -> HttpResponse:
    """A task's page from the mirrored board; its raw YAML (`?raw=1`) from the watcher."""
    if request.GET.get("raw"):
        return await relayed_page(request, task_id=task_id)
    from ..views import task_detail as usual

    return await sync_to_async(usual)(request, task_id)
