"""The board page composes its peers: live operations and MCP servers.

Each peer owns its domain, its partials and its panel HTML; here the command plugs them into
the page: their panels are registered with `runtime` (rendered once per change, the same
bytes for every viewer) and their activity lines go into the shared feed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.urls import reverse

from . import runtime

log = logging.getLogger(__name__)

OPERATIONS_PANEL = "operations"
MCP_PANEL = "mcp-servers"


def register_panels() -> None:
    """Both panels are on every board, running or not (they say what they wait for)."""
    from mcp_servers import service as mcp
    from telemetry.operations import service as operations

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

    for stop in (operations.stop, mcp.stop):
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
