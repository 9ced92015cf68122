"""The /telemetry/ drill-down: Django's own admin, read-only, on its own AdminSite.

Needs nothing from the default database: no login (has_permission is True; the token
middleware guards remote access), no LogEntry (nothing is ever added or changed), no permission
tables (every has_*_permission is answered here). Queries go to the read-only "telemetry" alias.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import display_for_field
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from . import service as telemetry
from .aggregate import UNKNOWN
from .db import ALIAS, ensure_configured
from .models import Invocation


class TelemetryAdminSite(admin.AdminSite):
    site_header = "Telemetry"
    site_title = "Telemetry"
    index_title = "Invocations, models and days"
    site_url = "/"  # "View site" goes back to the board
    index_template = "telemetry/admin/index.html"
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        return True

    def admin_view(self, view: Callable, cacheable: bool = False) -> Callable:
        return super().admin_view(_guarded(view), cacheable)

    def get_urls(self) -> list:
        own = [
            path(
                "models/",
                self.admin_view(self.summary_view),
                {"dimension": "model"},
                name="telemetry_models",
            ),
            path(
                "agents/",
                self.admin_view(self.summary_view),
                {"dimension": "agent"},
                name="telemetry_agents",
            ),
            path(
                "tools/",
                self.admin_view(self.summary_view),
                {"dimension": "tool"},
                name="telemetry_tools",
            ),
            path("days/", self.admin_view(self.days_view), name="telemetry_days"),
            path("export/stats.csv", self.admin_view(stats_csv), name="telemetry_stats_csv"),
            path("export/stats.json", self.admin_view(stats_json), name="telemetry_stats_json"),
        ]
        return own + super().get_urls()

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        context["stats"] = telemetry.get_stats()
        context["time_zone"] = telemetry.service.time_zone
        return context

    def summary_view(self, request: HttpRequest, dimension: str) -> HttpResponse:
        stats = telemetry.get_stats()
        rows = stats[dimension + "s"]
        if dimension == "agent" and not stats["has_agent"]:
            raise Http404("This telemetry schema has no agents.")
        changelist = reverse(f"{self.name}:telemetry_invocation_changelist")
        from urllib.parse import urlencode

        items = [
            {
                **row,
                "name": row[dimension],
                "href": f"{changelist}?{urlencode({dimension: row[dimension]})}",
            }
            for row in rows
        ]
        context = {
            **self.each_context(request),
            "title": f"Invocations per {dimension}",
            "dimension": dimension,
            "rows": items,
        }
        return TemplateResponse(request, "telemetry/admin/summary.html", context)

    def days_view(self, request: HttpRequest) -> HttpResponse:
        changelist = reverse(f"{self.name}:telemetry_invocation_changelist")
        days = sorted(telemetry.service.days().items(), reverse=True)
        page = Paginator(days, 100).get_page(request.GET.get("p"))
        rows = []
        for day, (cost, tokens, n) in page.object_list:
            d = date.fromisoformat(day)
            rows.append(
                {
                    "name": day,
                    "cost": cost,
                    "tokens": tokens,
                    "invocations": n,
                    "href": day_href(changelist, d),
                }
            )
        context = {
            **self.each_context(request),
            "title": "Invocations per day",
            "dimension": "day",
            "rows": rows,
            "page": page,
        }
        return TemplateResponse(request, "telemetry/admin/summary.html", context)


def day_href(changelist: str, day: date) -> str:
    return (
        f"{changelist}?timestamp__year={day.year}&timestamp__month={day.month}"
        f"&timestamp__day={day.day}"
    )


def _guarded(view: Callable) -> Callable:
    """Show dates in the dashboard's zone, and turn a missing, locked or corrupt file into a
    page that says so (503) instead of a server error. Responses are rendered here, inside the
    guard, because a TemplateResponse would otherwise run its queries after we returned."""

    def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ensure_configured()
        with timezone.override(telemetry.service.tz):
            try:
                response = view(request, *args, **kwargs)
                if isinstance(response, TemplateResponse) and not response.is_rendered:
                    response.render()
                return response
            except DatabaseError as exc:
                return unavailable(request, exc)

    inner.__name__ = getattr(view, "__name__", "view")
    inner.__wrapped__ = view  # type: ignore[attr-defined]
    return inner


def unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    svc = telemetry.service
    text = str(exc)
    if svc.path is not None and not svc.path.exists():
        message, status = f"No data yet: there is no telemetry database at {svc.path}.", 200
    elif "locked" in text or "busy" in text:
        message, status = "The telemetry database is busy (locked by a writer); try again.", 503
    else:
        message, status = f"The telemetry database {svc.path} cannot be read: {text}.", 503
    context = {**site.each_context(request), "title": "Telemetry unavailable", "message": message}
    response = TemplateResponse(request, "telemetry/admin/unavailable.html", context, status=status)
    return response.render()


def _choice_filter(param: str, label: str, field: str, source: Callable[[dict], list[tuple]]):
    """A filter whose choices come from the in-memory figures: no SELECT DISTINCT over a
    million rows on every page."""

    class ChoiceFilter(admin.SimpleListFilter):
        title = label
        parameter_name = param

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [(value, f"{value} ({n})") for value, n in source(telemetry.get_stats())]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            value = self.value()
            if value is None:
                return queryset
            if value == UNKNOWN:
                return queryset.filter(Q(**{f"{field}__isnull": True}) | Q(**{field: ""}))
            return queryset.filter(**{field: value})

    ChoiceFilter.__name__ = f"{param.title()}Filter"
    return ChoiceFilter


ModelFilter = _choice_filter(
    "model", "model", "model_name", lambda s: [(r["model"], r["invocations"]) for r in s["models"]]
)
ToolFilter = _choice_filter(
    "tool", "tool", "tool_name", lambda s: [(r["tool"], r["invocations"]) for r in s["tools"]]
)
AgentFilter = _choice_filter(
    "agent", "agent", "agent_name", lambda s: [(r["agent"], r["invocations"]) for r in s["agents"]]
)
StatusFilter = _choice_filter("status", "status", "status", lambda s: list(s["statuses"].items()))

EXPORT_FIELDS = [
    "id",
    "timestamp",
    "model_name",
    "tool_name",
    "agent_name",
    "tokens",
    "cost",
    "latency_ms",
    "status",
    "invocation_id",
    "error_message",
]


class InvocationAdmin(admin.ModelAdmin):
    date_hierarchy = "timestamp"
    list_per_page = 50
    show_full_result_count = False  # one COUNT(*) fewer per page on big files
    ordering = ("-id",)
    actions = None
    change_list_template = "telemetry/admin/change_list.html"
    show_facets = admin.ShowFacets.NEVER  # facet counts are a COUNT per choice per page

    def _llm(self) -> bool:
        schema = telemetry.service.schema
        return schema is not None and schema.kind == "llm"

    def _has_agent(self) -> bool:
        schema = telemetry.service.schema
        return schema is not None and schema.has_agent

    def get_list_display(self, request: HttpRequest) -> list:
        columns = ["id", "timestamp", "model_name", "tool_name"]
        if self._has_agent():
            columns.append("agent_name")
        return [*columns, "tokens", "cost_usd", "latency_ms", "status"]

    def get_list_filter(self, request: HttpRequest) -> list:
        filters: list = [ModelFilter, ToolFilter]
        if self._has_agent():
            filters.append(AgentFilter)
        return [*filters, StatusFilter]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        fields = ["model_name", "tool_name", "status", "raw_timestamp"]
        if self._has_agent():
            fields.append("agent_name")
        if self._llm():
            fields += ["invocation_id", "error_message"]
        return fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = ["id", "timestamp", "raw_timestamp", "model_name", "tool_name"]
        if self._has_agent():
            fields.append("agent_name")
        fields += ["tokens"]
        if self._llm():
            fields += ["prompt_tokens", "completion_tokens"]
        fields += ["cost", "raw_cost", "latency_ms", "status"]
        if self._llm():
            fields += ["invocation_id", "error_message", "privacy_level"]
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.get_fields(request, obj)

    @admin.display(description="cost (USD)", ordering="cost")
    def cost_usd(self, obj: Invocation) -> str:
        return f"${obj.cost:.6f}"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Explicit, as in Django's multi-database admin recipe: works with or without the router.
        return super().get_queryset(request).using(ALIAS)

    # Read-only for everyone, answered without touching auth tables.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return True

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        """A plain read-only detail page. Django's change form would look up a ContentType
        (a table in the default database, which we keep empty) just to render."""
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(f"No invocation {object_id}.")
        fields = [
            (
                obj._meta.get_field(name).verbose_name,
                display_for_field(getattr(obj, name), obj._meta.get_field(name), "–"),
            )
            for name in self.get_fields(request, obj)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": str(obj),
            "opts": self.opts,
            "object": obj,
            "fields": fields,
            "preserved_filters": self.get_preserved_filters(request),
        }
        return TemplateResponse(request, "telemetry/admin/invocation_detail.html", context)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None):
        raise Http404("No history: the dashboard never changes telemetry.")

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        own = [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_csv),
                name="{}_{}_export_csv".format(*info),
            ),
            path(
                "export.json",
                self.admin_site.admin_view(self.export_json),
                name="{}_{}_export_json".format(*info),
            ),
        ]
        return own + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        query = request.GET.urlencode()
        extra = {"export_query": f"?{query}" if query else "", **(extra_context or {})}
        return super().changelist_view(request, extra)

    # -- export (FR-C2): exactly the list on screen, every page of it -------------------
    def _filtered(self, request: HttpRequest) -> QuerySet:
        cl = self.get_changelist_instance(request)
        return cl.get_queryset(request)

    def _export_fields(self) -> list[str]:
        fields = list(EXPORT_FIELDS)
        if not self._has_agent():
            fields.remove("agent_name")
        if not self._llm():
            fields = [f for f in fields if f not in ("invocation_id", "error_message")]
        return fields

    def export_csv(self, request: HttpRequest) -> HttpResponse:
        try:
            qs = self._filtered(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Unknown filter.")
        fields = self._export_fields()

        def lines() -> Iterator[str]:
            buffer = _Echo()
            writer = csv.writer(buffer)
            yield writer.writerow(fields)
            for row in qs.values_list(*fields).iterator(chunk_size=2000):
                yield writer.writerow([_plain(v) for v in row])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="invocations.csv"'
        return response

    def export_json(self, request: HttpRequest) -> HttpResponse:
        try:
            qs = self._filtered(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Unknown filter.")
        fields = self._export_fields()

        def chunks() -> Iterator[str]:
            yield "["
            first = True
            for row in qs.values(*fields).iterator(chunk_size=2000):
                yield ("" if first else ",\n") + json.dumps(row, cls=DjangoJSONEncoder)
                first = False
            yield "]\n"

        response = StreamingHttpResponse(chunks(), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="invocations.json"'
        return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _plain(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


# -- summary figures export --------------------------------------------------------------
def stats_json(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        json.dumps(telemetry.get_stats(), indent=2, cls=DjangoJSONEncoder),
        content_type="application/json",
    )
    response["Content-Disposition"] = 'attachment; filename="telemetry-stats.json"'
    return response


def stats_csv(request: HttpRequest) -> HttpResponse:
    """One flat table: section, key, invocations, tokens, cost (USD)."""
    stats = telemetry.get_stats()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="telemetry-stats.csv"'
    writer = csv.writer(response)
    writer.writerow(["section", "key", "invocations", "tokens", "cost_usd"])
    writer.writerow(["total", "all", stats["invocations"], stats["tokens"], stats["cost"]["total"]])
    writer.writerow(
        [
            "today",
            stats["daily"][-1]["date"],
            stats["today"]["invocations"],
            stats["today"]["tokens"],
            stats["cost"]["today"],
        ]
    )
    month = stats["daily"][-1]["date"][:7]
    writer.writerow(["month", month, "", "", stats["cost"]["month"]])
    for key, value in (
        ("avg_cost_per_invocation", stats["avg_cost"]),
        ("cost_velocity_24h", stats["cost_velocity"]),
        ("latency_avg_ms", stats["latency_ms"]["avg"]),
        ("latency_p95_ms", stats["latency_ms"]["p95"]),
        ("success_rate", stats["success_rate"]),
    ):
        writer.writerow(["metric", key, "", "", "" if value is None else value])
    for section, key in (("model", "models"), ("agent", "agents"), ("tool", "tools")):
        for row in stats[key]:
            writer.writerow([section, row[section], row["invocations"], row["tokens"], row["cost"]])
    for row in stats["daily"]:
        writer.writerow(["day", row["date"], row["invocations"], row["tokens"], row["cost"]])
    return response


site = TelemetryAdminSite(name="telemetry")
site.register(Invocation, InvocationAdmin)
