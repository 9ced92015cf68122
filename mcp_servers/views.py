"""MCP servers over HTTP: GET /api/mcp, POST /api/mcp/<name>/<action>, the /mcp/ page.

Actions name a server from the definitions and one of four fixed verbs; nothing from the
request is ever run. Actions go through `action_view`: token, exact Origin, CSRF.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django_htmx.middleware import HtmxDetails

from dashboard_project.actions import action_view

from . import html, service

log = logging.getLogger("mcp_servers")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@require_safe
def api_mcp(request: HttpRequest) -> JsonResponse:
    snap = service.SERVICE.snapshot()
    return JsonResponse(
        {
            "servers": [s.as_json() for s in snap.servers],
            "problems": [
                {"path": p.source, "server": p.server, "error": p.reason} for p in snap.problems
            ],
        }
    )


@action_view
def mcp_action(request: HttpRequest, name: str, action: service.Action) -> JsonResponse:
    try:
        known = service.SERVICE.request(name, action)
    except service.NotApplicable as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    if not known:
        return JsonResponse({"error": "no MCP server with that name"}, status=404)
    log.info("MCP %s: %s requested from %s", name, action, request.META.get("REMOTE_ADDR"))
    return JsonResponse({"accepted": True, "server": name, "action": action}, status=202)


@require_safe
def mcp_page(request: HtmxHttpRequest) -> HttpResponse:
    ctx = html.context(service.SERVICE.snapshot())
    if request.htmx:  # the page's own 5 s refresh of the details
        return render(request, f"{html.TEMPLATE}#detail", ctx)
    return render(request, html.TEMPLATE, ctx)
