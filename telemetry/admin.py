"""The /telemetry/ drill-down: Django's own admin, read-only, on its own AdminSite.

Needs nothing from the default database: no login (has_permission is True; the token
middleware guards remote access), no LogEntry (nothing is ever added or changed), no permission
tables (every has_*_permission is answered here). Queries go to the read-only "telemetry" alias.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import display_for_field
from django.contrib.admin.views.main import ALL_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR, ChangeList
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe

from . import exports
from . import service as telemetry
from .aggregate import SUCCESS_STATUSES, UNKNOWN
from .db import ALIAS, ensure_configured
from .models import Invocation
from .query_deadline import QueryTooSlow, query_deadline
from .schema import MAX_COST

SUMMARIES = ("model", "agent", "tool")
# Stock admin pages that need the auth or content-type tables we keep empty: gone (404).
DEAD_ROUTES = {"login", "logout", "password_change", "password_change_done", "view_on_site"}
# What a malformed filter value raises from inside Django's ChangeList (finding 13).
BAD_INPUT = (IncorrectLookupParameters, ValueError, OverflowError, IndexError, TypeError)


class BadQuery(Exception):
    """The request asks for something the list cannot do: answered 400 with this message."""


class TelemetryAdminSite(admin.AdminSite):
    site_header = "Telemetry"
    site_title = "Telemetry"
    index_title = "Invocations, models and days"
    site_url = "/"  # "View site" goes back to the board
    index_template = "telemetry/admin/index.html"
    app_index_template = "telemetry/admin/app_index.html"
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        return True

    def admin_view(self, view: Callable, cacheable: bool = False) -> Callable:
        return super().admin_view(_guarded(view), cacheable)

    def get_urls(self) -> list:
        safe = require_safe
        own = [
            path(
                f"{dimension}s/",
                self.admin_view(safe(self.summary_view)),
                {"dimension": dimension},
                name=f"telemetry_{dimension}s",
            )
            for dimension in SUMMARIES
        ]
        own += [
            path("days/", self.admin_view(safe(self.days_view)), name="telemetry_days"),
            path(
                "export/stats.csv",
                self.admin_view(safe(exports.stats_csv)),
                name="telemetry_stats_csv",
            ),
            path(
                "export/stats.json",
                self.admin_view(safe(exports.stats_json)),
                name="telemetry_stats_json",
            ),
        ]
        stock = [p for p in super().get_urls() if getattr(p, "name", None) not in DEAD_ROUTES]
        return own + stock

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        stats = telemetry.get_stats()
        context["stats"] = {**stats, "message": without_path(stats.get("message"))}
        context["time_zone"] = telemetry.service.time_zone
        return context

    def summary_view(self, request: HttpRequest, dimension: str) -> HttpResponse:
        stats = telemetry.get_stats()
        if dimension == "agent" and not stats["has_agent"]:
            raise Http404("This telemetry schema has no agents.")
        changelist = reverse(f"{self.name}:telemetry_invocation_changelist")
        rows = [
            {
                **row,
                "name": row[dimension],
                "href": f"{changelist}?{urlencode({dimension: row[dimension]})}",
            }
            for row in stats[dimension + "s"]
        ]
        context = {
            **self.each_context(request),
            "title": f"Invocations per {dimension}",
            "dimension": dimension,
            "rows": rows,
        }
        return TemplateResponse(request, "telemetry/admin/summary.html", context)

    def days_view(self, request: HttpRequest) -> HttpResponse:
        changelist = reverse(f"{self.name}:telemetry_invocation_changelist")
        days = sorted(telemetry.service.days().items(), reverse=True)
        page = Paginator(days, 100).get_page(request.GET.get("p"))
        rows = [
            {
                "name": day,
                "cost": cost,
                "tokens": tokens,
                "invocations": n,
                "href": day_href(changelist, date.fromisoformat(day)),
            }
            for day, (cost, tokens, n) in page.object_list
        ]
        context = {
            **self.each_context(request),
            "title": "Invocations per day",
            "dimension": "day",
            "rows": rows,
            "page": page,
        }
        return TemplateResponse(request, "telemetry/admin/summary.html", context)


def day_href(changelist: str, day: date) -> str:
    """The list drilled down to one day (the figures' bar chart links the same way)."""
    return (
        f"{changelist}?timestamp__year={day.year}&timestamp__month={day.month}"
        f"&timestamp__day={day.day}"
    )


def without_path(message: str | None) -> str | None:
    """Viewers see the database's file name, never where it lives (finding 25)."""
    path = telemetry.service.path
    if not message or path is None:
        return message
    for shown in {str(path), str(path.resolve())}:
        message = message.replace(shown, path.name)
    return message


def _guarded(view: Callable) -> Callable:
    """Show dates in the dashboard's zone; give every query a time limit; turn a missing,
    locked or corrupt file into a page that says so (503), and a request the list cannot
    answer into a 400, instead of a server error. Responses are rendered here, inside the
    guard, because a TemplateResponse would otherwise run its queries after we returned."""

    def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        ensure_configured()
        with timezone.override(telemetry.service.tz):
            try:
                with query_deadline():
                    response = view(request, *args, **kwargs)
                    if isinstance(response, TemplateResponse) and not response.is_rendered:
                        response.render()
                return response
            except BadQuery as exc:
                return refused(request, str(exc), 400)
            except QueryTooSlow as exc:
                return refused(request, str(exc), 503)
            except DatabaseError as exc:
                return unavailable(request, exc)

    inner.__name__ = getattr(view, "__name__", "view")
    inner.__wrapped__ = view  # type: ignore[attr-defined]
    return inner


def refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    if request.path.endswith((".csv", ".json")):  # exports are fetched by scripts too
        return HttpResponse(message + "\n", status=status, content_type="text/plain")
    title = "Bad request" if status == 400 else "Query too slow"
    return page(request, title, message, status)


def unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    svc = telemetry.service
    name = svc.path.name if svc.path is not None else "telemetry database"
    text = without_path(str(exc)) or ""
    if svc.path is not None and not svc.path.exists():
        message, status = f"No data yet: there is no telemetry database ({name}).", 200
    elif "locked" in text or "busy" in text:
        message, status = "The telemetry database is busy (locked by a writer); try again.", 503
    else:
        message, status = f"The telemetry database ({name}) cannot be read: {text}.", 503
    return page(request, "Telemetry unavailable", message, status)


def page(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    context = {**site.each_context(request), "title": title, "message": message}
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
    "raw_cost",
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
        # When first (it opens the call), the row number last: it means little to a reader.
        columns = ["when", "model_name", "tool_name"]
        if self._has_agent():
            columns.append("agent_name")
        return [*columns, "tokens_shown", "cost_usd", "latency_shown", "status_shown", "id"]

    def get_list_display_links(self, request: HttpRequest, list_display: Any) -> list:
        return ["when"]

    @admin.display(description="time", ordering="timestamp")
    def when(self, obj: Invocation) -> str:
        return to_the_second(obj.timestamp) or obj.raw_timestamp or "—"

    @admin.display(description="tokens", ordering="tokens")
    def tokens_shown(self, obj: Invocation) -> str:
        return f"{obj.tokens:,}" if isinstance(obj.tokens, int) else "—"

    @admin.display(description="latency", ordering="latency_ms")
    def latency_shown(self, obj: Invocation) -> str:
        value = obj.latency_ms
        return f"{value:,.0f} ms" if isinstance(value, (int, float)) and value >= 0 else "—"

    @admin.display(description="status", ordering="status")
    def status_shown(self, obj: Invocation) -> SafeString:
        return status_badge(obj.status)

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
        # The file may hold text, a BLOB or an absurd number here (SQLite does not enforce
        # REAL); the figures count those as 0, the list shows a dash rather than "$0".
        cost = obj.raw_cost
        if isinstance(cost, (int, float)) and not isinstance(cost, bool) and 0 <= cost <= MAX_COST:
            return f"${cost:.6f}"
        return "—"

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
            (obj._meta.get_field(name).verbose_name, detail_value(obj, name))
            for name in self.get_fields(request, obj)
        ]
        moment = to_the_second(obj.timestamp)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Invocation at {moment}" if moment else f"Invocation (row {obj.id})",
            "agent": obj.agent_name if self._has_agent() and obj.agent_name else "",
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
                f"export.{kind}",
                self.admin_site.admin_view(require_safe(self.export)),
                {"kind": kind},
                name="{}_{}_export_{}".format(*info, kind),
            )
            for kind in ("csv", "json")
        ]
        return own + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        query = request.GET.urlencode()
        extra = {
            "export_query": f"?{query}" if query else "",
            "title": "Invocations",  # not Django's "Select invocation to view"
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    # -- what the list accepts (finding 1) ------------------------------------------------
    def accepted_parameters(self, request: HttpRequest) -> list[str]:
        filters = [f.parameter_name for f in self.get_list_filter(request)]
        dates = [f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day")]
        return [*filters, *dates, SEARCH_VAR, ORDER_VAR, PAGE_VAR, ALL_VAR]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Our own filters only (never a field lookup), should the allow-list ever be bypassed.
        return lookup in self.accepted_parameters(request)  # type: ignore[arg-type]

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        """Only the list's own parameters, and a clear 400 for values Django chokes on:
        Django's admin accepts any lookup on any field (`__regex` runs Python's `re` under
        the GIL for hours) and lets a year-9999 drill-down overflow into a 500."""
        accepted = self.accepted_parameters(request)
        unknown = sorted(set(request.GET) - set(accepted))
        if unknown:
            raise BadQuery(
                f"Unknown parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                f"The list accepts only: {', '.join(accepted)}."
            )
        try:
            return super().get_changelist_instance(request)
        except BAD_INPUT as exc:
            raise BadQuery(f"This filter cannot be applied: {exc or 'invalid value'}.") from exc

    # -- export (FR-C2): exactly the list on screen, every page of it -------------------
    def _export_fields(self) -> list[str]:
        fields = list(EXPORT_FIELDS)
        if not self._has_agent():
            fields.remove("agent_name")
        if not self._llm():
            fields = [f for f in fields if f not in ("invocation_id", "error_message")]
        return fields

    def export(self, request: HttpRequest, kind: str) -> HttpResponseBase:
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        return exports.invocations(request, queryset, self._export_fields(), kind)


def to_the_second(moment: Any) -> str:
    """`2026-12-01 19:01:05` in the dashboard's zone (the views run inside its override)."""
    if moment is None:
        return ""
    try:
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError):
        return ""


ERROR_STATUSES = frozenset({"error", "failed", "failure", "timeout", "cancelled", "exception"})


def status_badge(status: object) -> SafeString:
    """A status with its colour class (and its word: never colour alone)."""
    text = "—" if status is None or status == "" else str(status)
    word = text.strip().lower()
    kind = "ok" if word in SUCCESS_STATUSES else "error" if word in ERROR_STATUSES else "other"
    return format_html('<span class="tm-status tm-status-{}">{}</span>', kind, text)


def detail_value(obj: Invocation, name: str) -> object:
    value = getattr(obj, name)
    if name == "timestamp":
        return to_the_second(value) or "—"
    if name == "status":
        return status_badge(value)
    if name in ("cost", "raw_cost"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"${value:,.6f}" if 0 <= value <= MAX_COST else f"{value!r} (counted as $0)"
        return "—" if value is None else f"{value!r} (counted as $0)"
    if name in ("tokens", "prompt_tokens", "completion_tokens") and isinstance(value, int):
        return f"{value:,}"
    if name == "latency_ms" and isinstance(value, (int, float)):
        return f"{value:,.0f} ms"
    return display_for_field(value, obj._meta.get_field(name), "–")


site = TelemetryAdminSite(name="telemetry")
site.register(Invocation, InvocationAdmin)
