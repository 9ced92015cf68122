"""The task detail (page, modal fragment, raw file) and the dependency graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from . import detail as task_detail_domain
from .board import Board
from .runtime import STATE
from .tasks import TaskFileError, read_task_file
from .templatetags.kanban_tags import task_url
from .views import HtmxHttpRequest

DETAIL_TEMPLATE = "kanban/detail.html"
GRAPH_TEMPLATE = "kanban/graph.html"


def _bad_id(task_id: str) -> str:
    """Why an id from the URL cannot name a task, or "" if it can."""
    if "\x00" in task_id:
        return "The address contains a NUL character."
    # Django has already decoded %2F: a slash here was an encoded one, or a `..` walk.
    if "/" in task_id or "\\" in task_id or task_id.strip() in (".", ".."):
        return "Task ids cannot contain slashes or be '.' or '..'."
    return ""


def _read_raw(path: str) -> tuple[str, str]:
    # Read at request time so the user sees the file as it is now (read-only, guarded).
    try:
        text, _ = read_task_file(Path(settings.DASHBOARD_COLLAB_DIR), path)
    except TaskFileError as exc:
        return "", str(exc)
    return text, ""


def detail_context(board: Board, task_id: str, *, oob: bool = False) -> dict[str, Any]:
    page = task_detail_domain.build_page(board, task_id, _read_raw)
    return {"page": page, "url": task_url(task_id), "oob": oob, "as_page": False}


def render_detail_fragment(board: Board, task_id: str) -> str:
    """The open modal's content for `task_id`, as an `hx-swap-oob` element for the WebSocket.

    Its root's id is per task (`task-detail-<hash>`), so it replaces the modal's content only
    when that very task is open; a removed task turns into a "no longer on the board" note.
    """
    return render_to_string(
        f"{DETAIL_TEMPLATE}#detail_body", detail_context(board, task_id, oob=True)
    )


@require_GET
def task_detail(request: HtmxHttpRequest, task_id: str) -> HttpResponse:
    problem = _bad_id(task_id)
    if problem:
        return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
    board = STATE.board
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


@require_GET
def graph(request: HttpRequest) -> HttpResponse:
    board = STATE.board
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
        svg = render_to_string(f"{GRAPH_TEMPLATE}#svg", context)
        return HttpResponse(
            '<?xml version="1.0" encoding="UTF-8"?>\n' + svg.strip(),
            content_type="image/svg+xml; charset=utf-8",
        )
    return render(request, GRAPH_TEMPLATE, context)
