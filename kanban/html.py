"""HTML for the board: the page, and the `hx-swap-oob` fragments pushed over the WebSocket.

Both render the same partials of `kanban/board.html`; there is no second copy of markup.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template.loader import get_template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .board import Board
from .filters import TaskFilter
from .redraw import GroupView, Limits, Op, card_dom_id, group_dom_id, lane_views, plan
from .state import BoardState, FeedEntry
from .tasks import KNOWN_PRIORITIES, LANES, Task
from .templatetags.kanban_tags import humanize_age

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
        "agents": board.agents,
        "priorities": sorted({t.priority for t in board.tasks.values()} | set(KNOWN_PRIORITIES)),
        "statuses": sorted({t.status for t in board.tasks.values() if t.status}),
        **telemetry_context(),
    }


def lane_context(board: Board, lane: str, flt: TaskFilter, lim: Limits) -> dict[str, Any]:
    views = lane_views(board, lane, flt, lim)
    return {
        "name": lane,
        "title": LANE_TITLES[lane],
        "groups": [group_context(board, v, flt) for v in views],
    }


def group_context(
    board: Board, view: GroupView, flt: TaskFilter, with_cards: bool = True
) -> dict[str, Any]:
    lane, agent = view.key
    more_url = f"/lanes/{lane}/?agent={agent}" if agent else f"/lanes/{lane}/"
    if flt.active:
        more_url += ("&" if "?" in more_url else "?") + flt.query()
    return {
        "lane": lane,
        "agent": agent,
        "dom_id": group_dom_id(view.key),
        "cards": [card_html(board, t) for t in view.shown] if with_cards else [],
        "total": view.total,
        "hidden": view.hidden,
        "more_url": more_url,
    }


def card_html(board: Board, task: Task, oob: bool = False) -> str:
    blocked_by = tuple(board.unmet_dependencies(task))
    return _card_html(task, blocked_by, humanize_age(time.time() - task.updated_at), oob)


# A card's HTML depends only on what it shows (Task equality ignores the raw YAML, which the
# card does not show), its blockers and its age as text; most cards stay the same for hours,
# so re-rendering them for every page view and every push would be wasted work.
@lru_cache(maxsize=4_000)
def _card_html(task: Task, blocked_by: tuple[str, ...], age: str, oob: bool) -> str:
    ctx = {
        "task": task,
        "dom_id": card_dom_id(task.path),
        "blocked_by": blocked_by,
        "deps": len(task.dependencies),
        "oob": oob,
    }
    return mark_safe(partial("card", ctx))  # noqa: S308 - autoescaped by the template


def counts_context(board: Board, flt: TaskFilter) -> dict[str, Any]:
    total = board.counts
    if not flt.active:
        return {"filtered": False, "shown": total, "total": total, "reading": board.pending_count}
    shown = {lane: 0 for lane in LANES}
    for task in board.tasks.values():
        if flt.matches(task):
            shown[task.lane] += 1
    shown["total"] = sum(shown.values())
    return {"filtered": True, "shown": shown, "total": total, "reading": board.pending_count}


def feed_html(state: BoardState) -> list[str]:
    return feed_html_of(list(state.feed))


def feed_html_of(entries: list[FeedEntry]) -> list[str]:
    for entry in entries:
        if entry.html is None:
            entry.html = partial("feed_entry", {"event": entry.event, "number": entry.number})
    return [mark_safe(e.html or "") for e in entries]  # noqa: S308 - our own templates


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
    state: BoardState,
    old: Board,
    new: Board,
    changed_paths: list[str],
    flt: TaskFilter,
    feed_seen: int,
) -> tuple[str, int]:
    """Fragments for one batch of changes, seen through one viewer's filter.

    Returns the HTML and the newest activity entry the page now has.
    """
    lim = limits()
    parts: list[str] = []
    for op in plan(old, new, changed_paths, flt, lim):
        parts.append(_op_html(new, op, flt, lim))
    parts.append(partial("counts", {"oob": True, "counts": counts_context(new, flt)}))
    feed, feed_seen = feed_update_html(state, feed_seen)
    parts.append(feed)
    if old.agents != new.agents:  # a new agent, or one with no task left: keep the filter true
        parts.append(partial("agent_select", {"oob": True, "agents": new.agents, "flt": flt}))
    if old.problems != new.problems or old.duplicate_ids != new.duplicate_ids:
        parts.append(partial("problems", {"oob": True, "problems": new.all_problems()}))
    # Which tasks changed, so an open detail modal can refresh itself.
    changed_ids = sorted({t.id for b in (old, new) for p in changed_paths if (t := b.tasks.get(p))})
    parts.append(
        format_html(
            '<div id="last-change" hidden hx-swap-oob="true" data-task-ids="{}"></div>',
            json.dumps(changed_ids),
        )
    )
    return "".join(parts), feed_seen


def feed_update_html(state: BoardState, seen: int) -> tuple[str, int]:
    """New activity entries on top, and the ones pushed past the 50 limit deleted."""
    entries = list(state.feed)
    fresh = [e for e in entries if e.number > seen]
    if not fresh:
        return "", seen
    parts = []
    if seen == 0:
        parts.append('<div id="feed-empty" hx-swap-oob="delete"></div>')
    html = "".join(feed_html_of(fresh))
    new_entries = mark_safe(html)  # noqa: S308 - rendered by our autoescaping templates
    parts.append(format_html('<div hx-swap-oob="afterbegin:#activity-feed">{}</div>', new_entries))
    oldest_kept = entries[-1].number
    for number in range(max(1, seen - len(entries) + 1), oldest_kept):
        parts.append(f'<div id="ev-{number}" hx-swap-oob="delete"></div>')
    return "".join(parts), entries[0].number


def _op_html(board: Board, op: Op, flt: TaskFilter, lim: Limits) -> str:
    assert op.key is not None
    if op.kind == "delete_card":
        return format_html('<div id="{}" hx-swap-oob="delete"></div>', card_dom_id(op.path))
    if op.kind == "delete_group":
        return format_html('<div id="{}" hx-swap-oob="delete"></div>', group_dom_id(op.key))
    if op.kind == "card":
        return card_html(board, op.tasks[0], oob=True)
    if op.kind in ("insert_cards", "append_cards"):
        cards = "".join(card_html(board, t) for t in op.tasks)
        where = "afterbegin" if op.kind == "insert_cards" else "beforeend"
        target = group_dom_id(op.key) + "-cards"
        html = mark_safe(cards)  # noqa: S308 - rendered by our autoescaping templates
        return format_html('<div hx-swap-oob="{}:#{}">{}</div>', where, target, html)
    if op.kind == "group_cards":
        assert op.view is not None
        return partial("group_cards", {"group": group_context(board, op.view, flt), "oob": True})
    if op.kind == "group_meta":
        assert op.view is not None
        group = group_context(board, op.view, flt, with_cards=False)
        return partial("group_meta", {"group": group, "oob": True})
    if op.kind == "lane":
        lane = lane_context(board, op.key[0], flt, lim)
        return partial("lane_groups", {"lane": lane, "oob": True})
    raise ValueError(f"unknown operation {op.kind}")


def telemetry_context() -> dict[str, Any]:
    from telemetry import service

    return {"stats": service.get_stats()}


def telemetry_html() -> str:
    ctx = {**telemetry_context(), "oob": True}
    return "".join(
        get_template(f"telemetry/fragments.html#{name}").render(ctx)
        for name in ("figures", "charts")
    )
