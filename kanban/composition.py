"""The board page composes its peers: live operations, MCP servers, agents as workers.

Each peer owns its domain, its partials and its panel HTML; here the command plugs them into
the page: their panels are registered with `runtime` (rendered once per change, the same
bytes for every viewer) and their activity lines go into the shared feed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from . import runtime

log = logging.getLogger(__name__)

OPERATIONS_PANEL = "operations"
MCP_PANEL = "mcp-servers"


def register_panels() -> None:
    """Both panels are on every board, running or not (they say what they wait for)."""
    from mcp_servers import service as mcp
    from telemetry.operations import service as operations

    runtime.register_panel(AGENTS_PANEL, agents_panel_html)
    runtime.register_panel(OPERATIONS_PANEL, operations.panel_html)
    runtime.register_panel(MCP_PANEL, mcp.panel_html)


def start_operations(events_dir: Path) -> None:
    from django.conf import settings

    from telemetry.operations import service as operations
    from telemetry.operations.stopper import Timeouts

    operations.service.stopper.timeouts = Timeouts(
        sigint_s=settings.DASHBOARD_STOP_GRACE_SECONDS,
        sigterm_s=settings.DASHBOARD_STOP_TERM_GRACE_SECONDS,
    )
    operations.start(
        events_dir,
        on_change=lambda: runtime.publish_panel(OPERATIONS_PANEL),
        on_feed=_operation_feed,
    )


def start_mcp(config_paths: Sequence[Path]) -> None:
    """Without files named on the command line, the default ones are watched for."""
    from mcp_servers import service as mcp

    config_paths = config_paths or mcp.default_config_paths()
    mcp.start(
        list(config_paths), on_change=lambda: runtime.publish_panel(MCP_PANEL), on_feed=_mcp_feed
    )


def operation_problems() -> list[dict[str, str]]:
    """Event lines the operations tailer skipped (`{"path": "x.jsonl:12", "error"}`)."""
    from telemetry.operations import service as operations

    return operations.problems()


def stop_all() -> None:
    from mcp_servers import service as mcp
    from telemetry.operations import service as operations

    for stop in (stop_agents, operations.stop, mcp.stop):
        try:
            stop()
        except Exception:  # one peer failing to stop must not keep the others running
            log.exception("stopping %s failed", stop.__module__)


def _operation_feed(item: Any) -> None:
    attrs = {"data-operation-id": item.operation_id}
    if item.task_id:
        attrs["data-task-id"] = item.task_id
    link = reverse("operation-detail", args=[item.operation_id])
    runtime.add_feed_entry(item.event, item.text, attrs=attrs, link=link)


def _mcp_feed(item: Any) -> None:
    attrs = {"data-mcp-server": item.server}
    runtime.add_feed_entry(item.event, item.text, attrs=attrs, link=reverse("mcp-page"))


# --- agents as workers: the `#agents` strip, silent agents, budget alerts ----------------

AGENTS_PANEL = "agents"
AGENTS_TICK_S = 15.0  # silence comes with time passing, not with an event: look this often
STRIP_MAX = 24  # agents in the strip; the page lists them all
# During a burst of changes the strip (~8 kB, one more WebSocket message for every page) is
# pushed at most this often; a change after a quiet spell still shows at once. A push per
# move doubled the fan-out's work: 2,000 pages on four web workers got each move in p95
# 3.3 s instead of 0.19 s (bench/fanout.py).
AGENTS_MIN_GAP_S = 1.0
_clock = time.time  # tests move it: a file's change time cannot be set back


def silent_after_s() -> float:
    return max(1.0, float(settings.DASHBOARD_SILENT_AFTER_MINUTES) * 60)


def activity() -> tuple[dict[str, float], set[str], dict[str, float]]:
    """Signs of life beyond the task files: (agent -> last seen, agents running an operation,
    agent -> cost its operations reported)."""
    from telemetry import service as telemetry
    from telemetry.operations import service as operations

    from .times import parse_moment

    last = telemetry.agent_last_active()
    running: set[str] = set()
    listing = operations.service.listing()
    for op in listing["active"] + listing["recent"]:
        agent = op.get("agent")
        if not agent:
            continue
        seen = parse_moment(op.get("last_event_at"))
        if seen is not None and seen > last.get(agent, float("-inf")):
            last[agent] = seen
        if op.get("status") in ("running", "stopping"):
            running.add(agent)
    reported = {r["agent"]: r["cost_usd"] for r in operations.service.costs()["agents"]}
    return last, running, reported


def agents_context(now: float | None = None, *, limit: int | None = None) -> dict[str, Any]:
    """What the strip and the page show, from the live board, telemetry and operations."""
    from telemetry import service as telemetry

    from .agents import agent_flows, by_attention, human_duration, throughput_bars
    from .templatetags.kanban_tags import task_url

    now = _clock() if now is None else now
    last, running, reported = activity()
    flows = by_attention(
        agent_flows(
            runtime.STATE.board.tasks.values(),
            now,
            last_seen=last,
            silent_after_s=silent_after_s(),
            running=running,
        )
    )
    stats = telemetry.get_stats()
    costs_known = stats["state"] == "ok" or (stats["state"] == "error" and stats["updated_at"])
    today = {a["agent"]: a["cost"] for a in stats.get("agents_today", [])}
    changelist = reverse("telemetry:telemetry_invocation_changelist")
    rows = []
    for f in flows:
        quiet = None if f.last_seen is None else max(0.0, now - f.last_seen)
        state_text = f.state
        if f.state == "silent":
            state_text = f"silent {human_duration(quiet)}"
        rows.append(
            {
                "name": f.name,
                "dom_id": agent_dom_id(f.name),
                "state": f.state,
                "state_text": state_text,
                "quiet": human_duration(quiet),
                "assigned": f.lanes.get("assigned", 0),
                "done": f.lanes.get("done", 0),
                "working_on": [
                    {"id": t.id, "title": t.title, "url": task_url(t.id)} for t in f.working_on
                ],
                "oldest": human_duration(f.oldest_in_lane_s),
                "cycle": human_duration(f.cycle_time_s),
                "throughput": f"{f.throughput:.1f}",
                "done_14": sum(f.done_per_day),
                "chart": throughput_bars(f.done_per_day, now),
                "cost_today": today.get(f.name, 0.0) if costs_known else None,
                "reported": reported.get(f.name),
                "board_url": f"/?{urlencode({'agent': f.name})}",
                "invocations_url": f"{changelist}?{urlencode({'agent': f.name})}",
            }
        )
    shown = rows if limit is None else rows[:limit]
    return {
        "agents": shown,
        "agents_more": len(rows) - len(shown),
        "counts": {s: sum(1 for r in rows if r["state"] == s) for s in ("busy", "idle", "silent")},
        "costs_by_agent": bool(stats.get("has_agent")),
        "costs_known": bool(costs_known),
        "silent_after": human_duration(silent_after_s()),
        "now": now,
        "silent": frozenset(r["name"] for r in rows if r["state"] == "silent"),
    }


def agents_panel_html() -> str:
    """The strip: as the watch last rendered it, or rendered now when no watch runs."""
    watch = _agents_watch
    if watch is not None and watch.last_html is not None:
        return watch.last_html
    return render_to_string("kanban/agents.html#strip", agents_context(limit=STRIP_MAX))


class AgentsWatch:
    """One thread: every AGENTS_TICK_S (or when woken) it re-renders the strip and pushes it
    when it changed, says in the feed when an agent turns silent, and when a budget threshold
    is crossed. Every exception is caught and logged: the thread never dies."""

    def __init__(self) -> None:
        from telemetry.budgets import BudgetAlerts

        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_html: str | None = None
        self._silent: frozenset[str] | None = None  # None until the first look
        self.budget_alerts = BudgetAlerts()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="agents-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            looked_at = time.monotonic()
            try:
                self.tick()
            except Exception:
                log.exception("agents: a look at the agents failed")
            self._wake.wait(AGENTS_TICK_S)
            self._wake.clear()
            # A burst of wake-ups is one look, and looks are AGENTS_MIN_GAP_S apart at least.
            self._stop.wait(max(0.05, AGENTS_MIN_GAP_S - (time.monotonic() - looked_at)))

    def tick(self, now: float | None = None) -> None:
        global _silent_now
        ctx = agents_context(now, limit=STRIP_MAX)
        silent = ctx["silent"]
        if self._silent is not None:
            # Only an agent that turns silent while we watch: not every quiet one at start.
            for name in sorted(silent - self._silent):
                runtime.add_feed_entry(
                    "agent.silent",
                    f"{name} is silent: work waits in Assigned and nothing has changed for "
                    f"{ctx['silent_after']} or more",
                    attrs={"data-agent": name},
                    link=f"/agents/#{agent_dom_id(name)}",
                )
        self._silent = silent
        _silent_now = silent
        html = render_to_string("kanban/agents.html#strip", ctx)
        if html != self.last_html:
            self.last_html = html
            runtime.publish_panel(AGENTS_PANEL)  # sends last_html (agents_panel_html)
        self.check_budgets()

    def check_budgets(self) -> None:
        from telemetry import service as telemetry
        from telemetry.budgets import budgets

        found = budgets(
            telemetry.get_stats(),
            settings.DASHBOARD_BUDGET_DAILY,
            settings.DASHBOARD_BUDGET_MONTHLY,
        )
        for alert in self.budget_alerts.check(found):
            runtime.add_feed_entry(
                alert.event,
                alert.text,
                attrs={"data-period": alert.period, "data-threshold": str(alert.threshold)},
                link=reverse("telemetry:index"),
            )


def agent_dom_id(name: str) -> str:
    """A stable, safe id for an agent's row on the page (names may hold any character)."""
    import hashlib

    return "agent-" + hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]


_agents_watch: AgentsWatch | None = None
_silent_now: frozenset[str] = frozenset()


def silent_agents() -> frozenset[str]:
    """Agents silent at the last look (empty until the watch runs). For the board's lanes."""
    return _silent_now


def board_changed() -> None:
    """Call after the board changed (runtime.publish_board): the strip follows at once
    instead of within AGENTS_TICK_S. Cheap: it only wakes the thread."""
    if _agents_watch is not None:
        _agents_watch.wake()


def start_agents() -> None:
    """The agents strip, silence and budget alerts; woken by telemetry changes too."""
    global _agents_watch
    from telemetry import service as telemetry

    _agents_watch = AgentsWatch()
    telemetry.service.add_listener(_agents_watch.wake)
    if board_changed not in runtime.board_listeners:
        runtime.board_listeners.append(board_changed)
    _agents_watch.start()


def stop_agents() -> None:
    global _agents_watch
    from telemetry import service as telemetry

    watch, _agents_watch = _agents_watch, None
    if watch is not None:
        telemetry.service.remove_listener(watch.wake)
        watch.stop()
