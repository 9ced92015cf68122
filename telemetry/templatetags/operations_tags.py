"""`{% operations_view as ops %}`: the live operations panel's context, when the including
page did not pass one (the board page includes the panel without knowing about operations)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def operations_view(context: template.Context) -> Any:
    if context.get("ops") is not None:
        return context["ops"]
    from telemetry.operations import service
    from telemetry.operations.views import panel_context

    return panel_context(service.service)["ops"]


@register.filter
def op_url(operation_id: str) -> str:
    return "/operations/" + quote(operation_id, safe="") + "/"


@register.filter
def op_stop_url(operation_id: str) -> str:
    return "/api/operations/" + quote(operation_id, safe="") + "/stop"


@register.filter
def task_link(task_id: str) -> str:
    return "/tasks/" + quote(task_id, safe="") + "/"


@register.filter
def usd4(value: float | None) -> str:
    return f"${value or 0:,.4f}" if (value or 0) < 1 else f"${value:,.2f}"
