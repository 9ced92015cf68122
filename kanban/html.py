"""HTML for the board: the page, and the `hx-swap-oob` fragments pushed over the WebSocket.

Both render the same partials of `kanban/board.html`; there is no second copy of markup.

Every WebSocket message is a list of complete top-level elements, each with an `id` (or a
target) and one of the four `hx-swap-oob` forms in `OOB_FORMS`, which is all
`static/dashboard/dashboard.js` understands. No message is larger than `MESSAGE_BUDGET`: what
could grow with the board (cards, problems, the feed, lanes of many agents) is capped or
split over several messages.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import get_template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from . import runtime
from .board import Board
from .criteria import criteria_progress
from .filters import TaskFilter
from .redraw import GroupView, Limits, Op, card_dom_id, group_dom_id, lane_views, plan
from .state import FEED_SIZE, BoardState, FeedEntry, FeedItem, Snapshot
from .tasks import KNOWN_PRIORITIES, LANES, Problem, Task
from .templatetags.kanban_tags import humanize_age

log = logging.getLogger(__name__)

BOARD_TEMPLATE = "kanban/board.html"
LANE_TITLES = {"inbox": "Inbox", "assigned": "Assigned", "done": "Done"}

# The four ways a pushed element is applied (dashboard.js `applyFragments`):
OOB_REPLACE = "true"  # replace the element with the same id
OOB_DELETE = "delete"  # remove the element with the same id
OOB_PREPEND = "afterbegin"  # "afterbegin:#id": put the children on top of #id
OOB_APPEND = "beforeend"  # "beforeend:#id": put the children at the end of #id
OOB_FORMS = (OOB_REPLACE, OOB_DELETE, f"{OOB_PREPEND}:#<id>", f"{OOB_APPEND}:#<id>")

# daphne refuses to send more than its limit (the command sets it above this on purpose).
MESSAGE_BUDGET = 1 << 20
CARD_MAX = 8_000  # a card larger than this (a huge id) is shown as a placeholder
PROBLEMS_SHOWN = 50
PROBLEM_TEXT_MAX = 300
AGENT_OPTIONS_MAX = 500


def limits() -> Limits:
    return Limits(done=settings.DASHBOARD_DONE_LIMIT, other=settings.DASHBOARD_GROUP_LIMIT)


def partial(name: str, context: dict[str, Any]) -> str:
    return get_template(f"{BOARD_TEMPLATE}#{name}").render(context)


def oob_delete(dom_id: str) -> str:
    return partial("oob", {"how": OOB_DELETE, "id": dom_id})


def oob_into(where: str, target_id: str, content: str) -> str:
    """Children to put at the top (`OOB_PREPEND`) or the end (`OOB_APPEND`) of `#target_id`."""
    assert where in (OOB_PREPEND, OOB_APPEND)
    html = mark_safe(content)  # noqa: S308 - rendered by our autoescaping templates
    return partial("oob", {"how": f"{where}:#{target_id}", "content": html})


def board_context(state: BoardState, flt: TaskFilter) -> dict[str, Any]:
    """Everything the page shows, from one consistent snapshot of the live state."""
    snap = state.snapshot()
    board = snap.board
    lim = limits()
    panels = [mark_safe(runtime.panel_html(name)) for name in page_panel_names()]  # noqa: S308
    top_panels = [mark_safe(runtime.panel_html(n)) for n in top_panel_names()]  # noqa: S308
    summary_panels = [mark_safe(runtime.panel_html(n)) for n in summary_panel_names()]  # noqa: S308
    return {
        "board": board,
        "state": state,
        "version": f"{state.boot_id}-{snap.seq}",
        "flt": flt,
        "lanes": [lane_context(board, lane, flt, lim) for lane in LANES],
        "counts": counts_context(board, flt),
        **problems_context(board),
        "feed": feed_html_of(state.feed_entries(0, snap.feed_number)),
        **agents_context(board, flt),
        "priorities": priorities_by_severity(board),
        "statuses": sorted({t.status for t in board.tasks.values() if t.status}),
        "changed_ids": "[]",
        "panels": panels,
        "top_panels": top_panels,
        "summary_panels": summary_panels,
        **telemetry_context(),
    }


def priorities_by_severity(board: Board) -> list[str]:
    """Known priorities from critical to low, then whatever else the files say, A to Z."""
    others = {t.priority for t in board.tasks.values()} - set(KNOWN_PRIORITIES)
    return [*KNOWN_PRIORITIES, *sorted(others)]


# Panels in sight without scrolling: what runs now above the lanes, who works on what in the
# summary column. The others go below the lanes; costs have their own slot.
TOP_PANELS = ("operations",)
SUMMARY_PANELS = ("agents",)


def page_panel_names() -> list[str]:
    placed = {COSTS_PANEL, *TOP_PANELS, *SUMMARY_PANELS}
    return [n for n in runtime.panel_names() if n not in placed]


def top_panel_names() -> list[str]:
    return [n for n in runtime.panel_names() if n in TOP_PANELS]


def summary_panel_names() -> list[str]:
    return [n for n in runtime.panel_names() if n in SUMMARY_PANELS]


def lane_context(board: Board, lane: str, flt: TaskFilter, lim: Limits) -> dict[str, Any]:
    views = lane_views(board, lane, flt, lim)
    return {
        "name": lane,
        "title": LANE_TITLES[lane],
        "groups_html": [group_html(board, v, flt) for v in views],
    }


def group_html(board: Board, view: GroupView, flt: TaskFilter) -> SafeString:
    return mark_safe(partial("group", {"group": group_context(board, view, flt)}))  # noqa: S308


def more_url(lane: str, agent: str, flt: TaskFilter) -> str:
    """The "Show all" link of one group: every card of that agent (or the inbox)."""
    params = [("agent", agent)] if agent else []
    params += [(k, v) for k, v in flt.__dict__.items() if v and k != "agent"]
    url = reverse("lane", args=[lane])
    return f"{url}?{urlencode(params)}" if params else url


def group_context(
    board: Board, view: GroupView, flt: TaskFilter, with_cards: bool = True
) -> dict[str, Any]:
    lane, agent = view.key
    return {
        "lane": lane,
        "agent": agent,
        "dom_id": group_dom_id(view.key),
        "cards": [card_html(board, t) for t in view.shown] if with_cards else [],
        "total": view.total,
        "hidden": view.hidden,
        "more_url": more_url(lane, agent, flt),
    }


# Dependency kinds that do not hold a task up ("synergy", "informs"...): only these do.
BLOCKING_KINDS = frozenset(
    {"", "prerequisite", "prerequisites", "depends_on", "dependency", "dependencies",
     "blocked_by", "requires", "required", "hard", "blocking"}
)  # fmt: skip


def unmet_prerequisites(board: Board, task: Task) -> tuple[str, ...]:
    """Prerequisites not done yet; never for a Done card (whatever its files say, it is done)."""
    if task.lane == "done":
        return ()
    if not any(_blocking(d.kind) for d in task.dependencies):
        return ()
    unmet = set(board.unmet_dependencies(task))
    return tuple(
        dep_id
        for dep in task.dependencies
        if _blocking(dep.kind) and (dep_id := board.dependency_target(dep)) in unmet
    )


def _blocking(kind: str) -> bool:
    return kind.strip().lower().replace("-", "_").replace(" ", "_") in BLOCKING_KINDS


def card_html(board: Board, task: Task, oob: bool = False) -> str:
    blocked_by = unmet_prerequisites(board, task)
    return _card_html(task, blocked_by, humanize_age(time.time() - task.moment), oob)


# A card's HTML depends only on what it shows (Task equality ignores the raw YAML, but any
# change to a file changes its time, which equality does see), its blockers and its age as
# text; most cards stay the same for hours, so re-rendering them for every page view and
# every push would be wasted work.
@lru_cache(maxsize=4_000)
def _card_html(task: Task, blocked_by: tuple[str, ...], age: str, oob: bool) -> str:
    ctx = {
        "task": task,
        "dom_id": card_dom_id(task.path),
        "blocked_by": blocked_by,
        "progress": criteria_progress(task.data),
        "age": age,
        "oob": oob,
    }
    html = partial("card", ctx)
    if len(html) > CARD_MAX:  # titles are cut short; only a giant id or path gets here
        html = partial("card_too_big", ctx)
    return mark_safe(html)  # noqa: S308 - autoescaped by the template


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


def agents_context(board: Board, flt: TaskFilter) -> dict[str, Any]:
    agents = list(board.agents)
    shown = agents[:AGENT_OPTIONS_MAX]
    if flt.agent and flt.agent in agents and flt.agent not in shown:
        shown.append(flt.agent)
    return {"agents": shown, "agents_more": len(agents) - len(shown)}


def problems_context(board: Board, limit: int = PROBLEMS_SHOWN) -> dict[str, Any]:
    """The first `limit` problems as the panel lists them, and how many there are in all.

    Duplicate ids are listed once per file, naming a few of the others: listing them all
    grows with the square of the copies.
    """
    duplicates = board.duplicate_ids
    total = len(board.problems) + sum(len(paths) for paths in duplicates.values())
    shown = [_short(p) for p in heapq.nsmallest(limit, board.problems.values(), key=_by_path)]
    for task_id, paths in sorted(duplicates.items()):
        if len(shown) >= limit:
            break
        for path in paths:
            if len(shown) >= limit:
                break
            others = [p for p in paths if p != path]
            also = ", ".join(others[:3]) + (
                f" and {len(others) - 3} more" if len(others) > 3 else ""
            )
            shown.append(_short(Problem(path, f"duplicate id {task_id!r}, also in {also}")))
    return {"problems": shown, "problem_count": total, "problems_more": total - len(shown)}


def _by_path(problem: Problem) -> str:
    return problem.path


def _short(problem: Problem) -> Problem:
    def cut(text: str) -> str:
        return text if len(text) <= PROBLEM_TEXT_MAX else text[: PROBLEM_TEXT_MAX - 1] + "…"

    return Problem(cut(problem.path), cut(problem.error))


def feed_html_of(entries: list[FeedEntry]) -> list[str]:
    for entry in entries:
        if entry.html is None:
            entry.html = _feed_entry_html(entry)
    return [mark_safe(e.html or "") for e in entries]  # noqa: S308 - our own templates


def _feed_entry_html(entry: FeedEntry) -> str:
    if isinstance(entry.event, FeedItem):
        item = entry.event
        short = item.kind.split(".", 1)[-1]
        return partial("feed_item", {"item": item, "short_kind": short, "number": entry.number})
    return partial("feed_entry", {"event": entry.event, "number": entry.number})


# --- WebSocket messages -------------------------------------------------------------------


def pack(fragments: list[str], budget: int | None = None) -> list[str]:
    """Fragments, in order, gathered into as few messages as fit the budget (in bytes)."""
    budget = budget or MESSAGE_BUDGET
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for fragment in fragments:
        n = len(fragment.encode("utf-8"))
        if n > budget:
            # Capped and split as everything is, this cannot happen; if it does, losing one
            # fragment beats a socket that closes with 1011 on every reconnect.
            log.error("a %d-byte fragment does not fit one WebSocket message; left out", n)
            continue
        if current and size + n > budget:
            messages.append("".join(current))
            current, size = [], 0
        current.append(fragment)
        size += n
    if current:
        messages.append("".join(current))
    return messages


class RenderCache:
    """Rendered messages by key, bounded by their total size; shared by every consumer."""

    def __init__(self, max_chars: int = 64 << 20, max_entries: int = 512) -> None:
        self._items: OrderedDict[Hashable, list[str]] = OrderedDict()
        self._chars = 0
        self.max_chars = max_chars
        self.max_entries = max_entries
        self.hits = self.misses = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> list[str] | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, messages: list[str]) -> None:
        size = sum(len(m) for m in messages)
        with self._lock:
            if key in self._items:
                return
            self._items[key] = messages
            self._chars += size
            while self._items and (
                self._chars > self.max_chars or len(self._items) > self.max_entries
            ):
                _, dropped = self._items.popitem(last=False)
                self._chars -= sum(len(m) for m in dropped)


RENDERED = RenderCache()


def full_state_messages(state: BoardState, flt: TaskFilter) -> tuple[int, list[str]]:
    """Everything that can change, for a (re)connecting page: the seq it shows, and messages.

    One render per (state, filter): a crowd connecting at once shares it.
    """
    snap = state.snapshot()
    key = ("full", state.boot_id, snap.seq, flt)
    messages = RENDERED.get(key)
    if messages is None:
        messages = pack(full_state_fragments(state, snap, flt))
        RENDERED.put(key, messages)
    panels = runtime.all_panels_html()
    return snap.seq, messages + pack(panels)


def full_state_fragments(state: BoardState, snap: Snapshot, flt: TaskFilter) -> list[str]:
    board = snap.board
    lim = limits()
    lanes, extras = [], []
    for lane in LANES:
        ctx, more = split_lane(lane_context(board, lane, flt, lim))
        lanes.append(ctx)
        extras.extend(more)
    ctx = {
        "oob": True,
        "lanes": lanes,
        "counts": counts_context(board, flt),
        **problems_context(board),
        "feed": feed_html_of(state.feed_entries(0, snap.feed_number)),
        **agents_context(board, flt),
        "flt": flt,
    }
    return [
        partial("board", ctx),
        *extras,
        partial("counts", ctx),
        partial("agent_select", ctx),
        partial("problems", ctx),
        partial("feed", ctx),
    ]


def split_lane(lane: dict[str, Any], part: int | None = None) -> tuple[dict[str, Any], list[str]]:
    """A lane whose groups fit one part, and fragments appending the groups that do not."""
    part = part or MESSAGE_BUDGET // 4  # the board's three lanes fit one message
    groups: list[str] = lane["groups_html"]
    chunks: list[list[str]] = [[]]
    size = 0
    for html in groups:
        n = len(html.encode("utf-8"))
        if chunks[-1] and size + n > part:
            chunks.append([])
            size = 0
        chunks[-1].append(html)
        size += n
    target = f"lane-{lane['name']}-groups"
    extras = [oob_into(OOB_APPEND, target, "".join(chunk)) for chunk in chunks[1:]]
    return {**lane, "groups_html": chunks[0]}, extras


def update_messages(
    state: BoardState, seq_from: int, seq_to: int, flt: TaskFilter
) -> list[str] | None:
    """Messages taking a page through the changes `seq_from` -> `seq_to`, seen through one
    filter; None when those changes are no longer kept (send the whole state instead).

    Rendered once per (changes, filter): every viewer with that filter gets the same bytes.
    """
    key = ("update", state.boot_id, seq_from, seq_to, flt)
    messages = RENDERED.get(key)
    if messages is not None:
        return messages
    changes = state.changes_between(seq_from, seq_to)
    if changes is None:
        return None
    paths = sorted({p for c in changes for p in c.paths})
    old, new = changes[0].old, changes[-1].new
    fragments = update_fragments(
        state,
        old,
        new,
        paths,
        flt,
        changes[0].feed_before,
        changes[-1].feed_after,
        feed_reset=any(c.feed_reset for c in changes),
    )
    messages = pack(fragments)
    RENDERED.put(key, messages)
    return messages


def update_fragments(
    state: BoardState,
    old: Board,
    new: Board,
    changed_paths: list[str],
    flt: TaskFilter,
    feed_seen: int,
    feed_upto: int,
    feed_reset: bool = False,
) -> list[str]:
    """Fragments for one batch of changes, seen through one viewer's filter."""
    parts: list[str] = []
    if old is not new:
        lim = limits()
        for op in plan(old, new, changed_paths, flt, lim):
            parts.extend(_op_fragments(new, op, flt, lim))
        parts.append(partial("counts", {"oob": True, "counts": counts_context(new, flt)}))
    if feed_reset:  # renumbered: the page's entries no longer match, send the feed whole
        feed = feed_html_of(state.feed_entries(0, feed_upto))
        parts.append(partial("feed", {"oob": True, "feed": feed}))
    else:
        parts.extend(feed_fragments(state, feed_seen, feed_upto))
    if old.agents != new.agents:  # a new agent, or one with no task left: keep the filter true
        parts.append(partial("agent_select", {"oob": True, "flt": flt, **agents_context(new, flt)}))
    if old.problems != new.problems or old.duplicate_ids != new.duplicate_ids:
        parts.append(partial("problems", {"oob": True, **problems_context(new)}))
    # Which tasks changed, so an open detail modal can refresh itself.
    changed_ids = sorted({t.id for b in (old, new) for p in changed_paths if (t := b.tasks.get(p))})
    parts.append(partial("last_change", {"oob": True, "changed_ids": json.dumps(changed_ids)}))
    return parts


def feed_fragments(state: BoardState, seen: int, upto: int) -> list[str]:
    """New activity entries on top, and the ones pushed past the 50 limit deleted."""
    fresh = state.feed_entries(seen, upto)
    if not fresh:
        return []
    parts = []
    if seen == 0:
        parts.append(oob_delete("feed-empty"))
    parts.append(oob_into(OOB_PREPEND, "activity-feed", "".join(feed_html_of(fresh))))
    # The page holds at most the 50 entries up to `seen`; keep the 50 up to `upto`.
    for number in range(max(1, seen - FEED_SIZE + 1), min(upto - FEED_SIZE + 1, seen + 1)):
        parts.append(oob_delete(f"ev-{number}"))
    return parts


def _op_fragments(board: Board, op: Op, flt: TaskFilter, lim: Limits) -> list[str]:
    assert op.key is not None
    if op.kind == "delete_card":
        return [oob_delete(card_dom_id(op.path))]
    if op.kind == "delete_group":
        return [oob_delete(group_dom_id(op.key))]
    if op.kind == "card":
        return [card_html(board, op.tasks[0], oob=True)]
    if op.kind in ("insert_cards", "append_cards"):
        cards = "".join(card_html(board, t) for t in op.tasks)
        where = OOB_PREPEND if op.kind == "insert_cards" else OOB_APPEND
        return [oob_into(where, group_dom_id(op.key) + "-cards", cards)]
    if op.kind == "group_cards":
        assert op.view is not None
        return [partial("group_cards", {"group": group_context(board, op.view, flt), "oob": True})]
    if op.kind == "group_meta":
        assert op.view is not None
        group = group_context(board, op.view, flt, with_cards=False)
        return [partial("group_meta", {"group": group, "oob": True})]
    if op.kind == "lane":
        lane, extras = split_lane(lane_context(board, op.key[0], flt, lim))
        return [partial("lane_groups", {"lane": lane, "oob": True}), *extras]
    raise ValueError(f"unknown operation {op.kind}")


# --- the costs panel (rendered once per telemetry change, see runtime.register_panel) -----

COSTS_PANEL = "costs"


def telemetry_context() -> dict[str, Any]:
    from telemetry import service

    return {"stats": service.get_stats()}


def telemetry_html() -> str:
    ctx = {**telemetry_context(), "oob": True}
    return "".join(
        get_template(f"telemetry/fragments.html#{name}").render(ctx)
        for name in ("figures", "charts")
    )
