"""A web worker's URLs: the usual ones, with what needs the workspace answered otherwise.

The overrides come first, so they win; the usual patterns stay for `reverse()` (templates
link to the telemetry drill-down by name). Pages that read the workspace are rendered by the
watcher on request (`views.relayed_page`, allow-list in `pages.RELAYED`).
"""

from django.urls import path, re_path

from dashboard_project.urls import urlpatterns as usual
from telemetry.views import api_stats

from . import views

urlpatterns = [
    path("health", views.web_health),
    path("api/stats", api_stats),  # answered from the telemetry mirror
    path("api/events", views.api_events),
    path("api/operations/<str:operation_id>/stop", views.stop_operation),
    re_path(
        r"^api/mcp/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})/(?P<action>start|stop|restart|check)$",
        views.mcp_action,
    ),
    path("api/mcp", views.api_mcp),
    # Rendered by the watcher: the MCP details, the telemetry drill-down and its exports,
    # an operation's page with its timeline, a task's raw YAML.
    path("mcp/", views.relayed_page),
    re_path(r"^telemetry/", views.relayed_page),
    path("operations/<str:operation_id>/", views.relayed_page),
    path("tasks/<path:task_id>/", views.task_detail),
    *usual,
]
