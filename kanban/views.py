from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from . import render as board_render
from .filters import TaskFilter
from .fragments import group_view
from .runtime import STATE
from .tasks import LANES


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@require_GET
def board(request: HtmxHttpRequest) -> HttpResponse:
    flt = TaskFilter.from_params(request.GET)
    return render(request, "kanban/board.html", board_render.board_context(STATE, flt))


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    from telemetry import service

    return JsonResponse(
        {
            "status": "ok",
            "watcher": STATE.watcher,
            "tasks": STATE.board.counts["total"],
            "telemetry": service.health(),
            "waiting_for": STATE.waiting_for or None,
            "problems": len(STATE.board.problems),
            "reading": STATE.board.pending_count,
        }
    )


@require_GET
def api_tasks(request: HttpRequest) -> JsonResponse:
    board = STATE.board
    flt = TaskFilter.from_params(request.GET)
    tasks = sorted(board.tasks.values(), key=lambda t: (LANES.index(t.lane), t.agent, t.path))
    return JsonResponse(
        {
            "tasks": [t.as_json() for t in tasks if flt.matches(t)],
            "counts": board.counts,
            "problems": [p.as_json() for p in board.all_problems()],
        }
    )


@require_GET
def lane(request: HtmxHttpRequest, lane: str) -> HttpResponse:
    """Every card of one lane (or one agent's part of it), for the "show all" link."""
    if lane not in LANES:
        raise Http404("no such lane")
    board_state = STATE.board
    flt = TaskFilter.from_params(request.GET)
    agent = request.GET.get("agent", "")
    key = (lane, "" if lane == "inbox" else agent)
    no_limit = board_render.Limits(done=10**9, other=10**9)
    view = group_view(
        board_state, key, TaskFilter(q=flt.q, priority=flt.priority, status=flt.status), no_limit
    )
    group = board_render.group_context(board_state, view, flt)
    return render(
        request,
        "kanban/lane.html",
        {"group": group, "lane_title": board_render.LANE_TITLES[lane], "flt": flt},
    )
