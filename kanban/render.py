"""HTML for the board: the page, and the `hx-swap-oob` fragments pushed over the WebSocket.

Both render the same partials of `kanban/board.html`; there is no second copy of markup.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.template.loader import get_template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .board import Board
from .filters import TaskFilter
from .fragments import GroupView, Limits, Op, card_dom_id, group_dom_id, lane_views, plan
from .state import BoardState, FeedEntry
from .tasks import LANES, KNOWN_PRIORITIES, Task

BOARD_TEMPLATE = "kanban/board.html"
LANE_TITLES = {"inbox": "Inbox", "assigned": "Assigned", "done": "Done"}


def limits() -> Limits:
    return Limits(done=settings.DASHBOARD_DONE_LIMIT, other=settings.DASHBOARD_GROUP_LIMIT)


def partial(name: str, context: dict[str, Any]) -> str:
    return get_template(f"{BOARD_TEMPLATE}#{name}").render(context)


def board_context(state: BoardState, flt: TaskFilter) -> dict[str, Any]:
    board = state.board
    lim = limits()
    return {
        "board": board,
        "state": state,
        "flt": flt,
        "lanes": [lane_context(board, lane, flt, lim) for lane in LANES],
        "counts": counts_context(board, flt),
        "problems": board.all_problems(),
        "feed": feed_html(state),
        "agents": sorted({t.agent for t in board.tasks.values()}),
        "priorities": sorted({t.priority for t in board.tasks.values()} | set(KNOWN_PRIORITIES)),
        "statuses": sorted({t.status for t in board.tasks.values() if t.status}),
        "now": time.time(),
        **telemetry_context(),
    }


def lane_context(board: Board, lane: str, flt: TaskFilter, lim: Limits) -> dict[str, Any]:
    views = lane_views(board, lane, flt, lim)
    return {
        "name": lane,
        "title": LANE_TITLES[lane],
        "groups": [group_context(board, v, flt) for v in views],
        "shown": sum(v.total for v in views),
    }


def group_context(board: Board, view: GroupView, flt: TaskFilter) -> dict[str, Any]:
    lane, agent = view.key
    more_url = f"/lanes/{lane}/?agent={agent}" if agent else f"/lanes/{lane}/"
    if flt.active:
        more_url += ("&" if "?" in more_url else "?") + flt.query()
    return {
        "lane": lane,
        "agent": agent,
        "dom_id": group_dom_id(view.key),
        "cards": [card_context(board, t) for t in view.shown],
        "total": view.total,
        "hidden": view.hidden,
        "more_url": more_url,
    }


def card_context(board: Board, task: Task) -> dict[str, Any]:
    return {
        "task": task,
        "dom_id": card_dom_id(task.path),
        "blocked_by": board.unmet_dependencies(task),
        "deps": len(task.dependencies),
    }


def counts_context(board: Board, flt: TaskFilter) -> dict[str, Any]:
    total = board.counts
    if not flt.active:
        return {"filtered": False, "shown": total, "total": total}
    shown = {lane: 0 for lane in LANES}
    for task in board.tasks.values():
        if flt.matches(task):
            shown[task.lane] += 1
    shown["total"] = sum(shown.values())
    return {"filtered": True, "shown": shown, "total": total}


def feed_html(state: BoardState) -> list[str]:
    entries: list[FeedEntry] = list(state.feed)
    for entry in entries:
        if entry.html is None:
            entry.html = partial("feed_entry", {"event": entry.event})
    return [e.html or "" for e in entries]


# --- WebSocket messages -------------------------------------------------------------------


def full_state_html(state: BoardState, flt: TaskFilter) -> str:
    """Everything that can change, for a (re)connecting page."""
    ctx = board_context(state, flt)
    ctx["oob"] = True
    parts = [
        partial("board", ctx),
        partial("counts", ctx),
        partial("problems", ctx),
        partial("feed", ctx),
        telemetry_html(),
    ]
    return "".join(parts)


def update_html(
    state: BoardState, old: Board, new: Board, changed_paths: list[str], flt: TaskFilter
) -> str:
    """Fragments for one batch of changes, seen through one viewer's filter."""
    lim = limits()
    parts: list[str] = []
    for op in plan(old, new, changed_paths, flt, lim):
        parts.append(_op_html(new, op, flt, lim))
    ctx: dict[str, Any] = {
        "oob": True,
        "counts": counts_context(new, flt),
        "feed": feed_html(state),
        "state": state,
    }
    parts.append(partial("counts", ctx))
    parts.append(partial("feed", ctx))
    # Which tasks changed, so an open detail modal can refresh itself.
    changed_ids = sorted({t.id for b in (old, new) for p in changed_paths if (t := b.tasks.get(p))})
    parts.append(
        format_html('<div id="last-change" hidden hx-swap-oob="true" data-task-ids="{}"></div>', json.dumps(changed_ids))
    )
    if old.problems != new.problems or old.duplicate_ids != new.duplicate_ids:
        parts.append(partial("problems", {"oob": True, "problems": new.all_problems()}))
    return "".join(parts)


def _op_html(board: Board, op: Op, flt: TaskFilter, lim: Limits) -> str:
    assert op.key is not None
    if op.kind == "delete_card":
        return format_html('<div id="{}" hx-swap-oob="delete"></div>', card_dom_id(op.path))
    if op.kind == "delete_group":
        return format_html('<div id="{}" hx-swap-oob="delete"></div>', group_dom_id(op.key))
    if op.kind == "card":
        return partial("card", {**card_context(board, op.tasks[0]), "oob": True})
    if op.kind == "insert_cards":
        cards = "".join(partial("card", card_context(board, t)) for t in op.tasks)
        target = group_dom_id(op.key) + "-cards"
        return format_html('<div hx-swap-oob="afterbegin:#{}">{}</div>', target, _safe(cards))
    if op.kind == "group_cards":
        assert op.view is not None
        return partial("group_cards", {"group": group_context(board, op.view, flt), "oob": True})
    if op.kind == "group_meta":
        assert op.view is not None
        return partial("group_meta", {"group": group_context(board, op.view, flt), "oob": True})
    if op.kind == "lane":
        lane = lane_context(board, op.key[0], flt, lim)
        return partial("lane_groups", {"lane": lane, "oob": True})
    raise ValueError(f"unknown operation {op.kind}")


def _safe(html: str) -> Any:
    return mark_safe(html)  # noqa: S308 - rendered by our own autoescaping templates


def telemetry_context() -> dict[str, Any]:
    from telemetry import service

    return {"stats": service.get_stats()}


def telemetry_html() -> str:
    ctx = {**telemetry_context(), "oob": True}
    return "".join(
        get_template(f"telemetry/fragments.html#{name}").render(ctx) for name in ("figures", "charts")
    )
