"""The board's pages and JSON: the board, a lane, health, tasks, a task's detail, the graph."""

from __future__ import annotations

from typing import Any

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe
from django_htmx.middleware import HtmxDetails

from . import composition, runconfig, runtime
from . import detail as detail_domain
from . import html as board_html
from .board import Board
from .filters import TaskFilter
from .redraw import group_view
from .tasks import LANES, TaskFileError, read_task_file
from .templatetags.kanban_tags import ENCODED_ID_MARK, decode_id, task_url, xml_safe


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@require_safe
@ensure_csrf_cookie  # the page's actions send it back as X-CSRFToken
def board(request: HtmxHttpRequest) -> HttpResponse:
    flt = TaskFilter.from_params(request.GET)
    return render(request, "kanban/board.html", board_html.board_context(runtime.STATE, flt))


def health_fields() -> dict[str, Any]:
    """/health of a process that reads the workspace itself (`all`, `watcher`)."""
    from telemetry import service

    return {
        "status": "ok",
        "role": runconfig.current().role,
        **runtime.STATE.watcher_health(),
        "tasks": runtime.STATE.board.counts["total"],
        "telemetry": service.health(),
        "waiting_for": runtime.STATE.waiting_for or None,
        "problems": len(runtime.STATE.board.problems),
        "reading": runtime.STATE.board.pending_count,
    }


@require_safe
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse(health_fields())


@require_safe
def api_tasks(request: HttpRequest) -> JsonResponse:
    board = runtime.STATE.board
    flt = TaskFilter.from_params(request.GET)
    tasks = sorted(board.tasks.values(), key=lambda t: (LANES.index(t.lane), t.agent, t.path))
    return JsonResponse(
        {
            "tasks": [t.as_json() for t in tasks if flt.matches(t)],
            "counts": board.counts,
            "problems": [p.as_json() for p in board.all_problems()]
            + composition.operation_problems(),
        }
    )


@require_safe
def lane(request: HtmxHttpRequest, lane: str) -> HttpResponse:
    """Every card of one lane (or one agent's part of it), for the "show all" link."""
    if lane not in LANES:
        raise Http404("no such lane")
    board_state = runtime.STATE.board
    flt = TaskFilter.from_params(request.GET)
    agent = request.GET.get("agent", "")
    key = (lane, "" if lane == "inbox" else agent)
    no_limit = board_html.Limits(done=10**9, other=10**9)
    view = group_view(
        board_state, key, TaskFilter(q=flt.q, priority=flt.priority, status=flt.status), no_limit
    )
    group = board_html.group_context(board_state, view, flt)
    return render(
        request,
        "kanban/lane.html",
        {"group": group, "lane_title": board_html.LANE_TITLES[lane], "flt": flt},
    )


DETAIL_TEMPLATE = "kanban/detail.html"
GRAPH_TEMPLATE = "kanban/graph.html"


def _bad_id(task_id: str) -> str:
    """Why an id from the URL cannot name a task, or "" if it can."""
    if "\x00" in task_id:
        return "The address contains a NUL character."
    # Django has already decoded %2F: a slash here was an encoded one, or a `..` walk. Ids
    # that hold one reach us encoded (see `task_url`), never raw.
    if "/" in task_id or "\\" in task_id or task_id.strip() in (".", ".."):
        return "Task ids cannot contain slashes or be '.' or '..'."
    return ""


def _id_from_url(segment: str) -> tuple[str, str]:
    """The task id a URL segment names, and why it cannot, if so."""
    problem = _bad_id(segment)
    if problem or not segment.startswith(ENCODED_ID_MARK):
        return segment, problem
    decoded = decode_id(segment)
    if decoded is None:
        return segment, "The address holds a malformed encoded task id."
    # A decoded id only ever looks tasks up on the board: it never names a file.
    return decoded, ""


def _read_raw(path: str) -> tuple[str, str]:
    config = runconfig.current()
    if config.role == "web":  # a web worker never touches the task files
        return "", "this web worker reads no task file; Open as plain text asks the watcher"
    # Read at request time so the user sees the file as it is now (read-only, guarded).
    try:
        text, _ = read_task_file(config.collab_dir, path)
    except TaskFileError as exc:
        return "", str(exc)
    return text, ""


def detail_context(board: Board, task_id: str, *, oob: bool = False) -> dict[str, Any]:
    page = detail_domain.build_page(board, task_id, _read_raw)
    return {"page": page, "url": task_url(task_id), "oob": oob, "as_page": False}


def render_detail_fragment(board: Board, task_id: str) -> str:
    """The open modal's content for `task_id`, as an `hx-swap-oob` element for the WebSocket.

    Its root's id is per task (`task-detail-<hash>`), so it replaces the modal's content only
    when that very task is open; a removed task turns into a "no longer on the board" note.
    """
    return render_to_string(
        f"{DETAIL_TEMPLATE}#detail_body", detail_context(board, task_id, oob=True)
    )


@require_safe
def task_detail(request: HtmxHttpRequest, task_id: str) -> HttpResponse:
    task_id, problem = _id_from_url(task_id)
    if problem:
        return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
    board = runtime.STATE.board
    if request.GET.get("raw"):
        return _raw(board, task_id, request.GET.get("path", ""))
    context = detail_context(board, task_id)
    status = 200 if context["page"].found else 404
    if request.htmx:
        return render(request, f"{DETAIL_TEMPLATE}#detail", context, status=status)
    context["as_page"] = True
    return render(request, DETAIL_TEMPLATE, context, status=status)


def _raw(board: Board, task_id: str, path: str) -> HttpResponse:
    tasks = sorted(board.by_id.get(task_id, []), key=lambda t: t.path)
    # Only a path that belongs to this id: the parameter never names an arbitrary file.
    chosen = next((t for t in tasks if t.path == path), tasks[0] if tasks else None)
    if chosen is None:
        return HttpResponse(
            f"No task has the id {task_id!r}.\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    text, error = _read_raw(chosen.path)
    if error:
        return HttpResponse(
            f"{chosen.path}: {error}\n", status=404, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@require_safe
def graph(request: HttpRequest) -> HttpResponse:
    board = runtime.STATE.board
    agent = request.GET.get("agent", "").strip()
    show_all = request.GET.get("all", "") not in ("", "0")
    from . import graph as graph_domain  # networkx takes 0.1-0.25 s to import: not at startup

    model = graph_domain.cached_graph(
        board, agent=agent, show_all=show_all, max_nodes=graph_domain.MAX_NODES
    )
    context = {
        "graph": model,
        "agents": sorted({t.agent for t in board.tasks.values()}),
        "standalone": False,
    }
    if request.GET.get("format") == "svg":
        context["standalone"] = True
        # Titles and ids may hold control characters that XML forbids: a standalone file
        # must stay well-formed.
        svg = xml_safe(render_to_string(f"{GRAPH_TEMPLATE}#svg", context))
        return HttpResponse(
            '<?xml version="1.0" encoding="UTF-8"?>\n' + svg.strip(),
            content_type="image/svg+xml; charset=utf-8",
        )
    return render(request, GRAPH_TEMPLATE, context)


@require_safe
def agents_page(request: HttpRequest) -> HttpResponse:
    """Agents as workers: state, lanes, time in lane, cycle time, throughput and cost."""
    import datetime as dt
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from django.conf import settings

    from . import composition

    context = composition.agents_context()
    try:
        zone = ZoneInfo(settings.DASHBOARD_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    context["as_of"] = dt.datetime.fromtimestamp(context["now"], zone).strftime("%H:%M:%S")
    context["time_zone"] = str(zone)
    return render(request, "kanban/agents.html", context)
