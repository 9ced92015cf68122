from django.urls import include, path

urlpatterns = [
    path("", include("kanban.urls")),
    path("", include("telemetry.urls")),
    path("", include("telemetry.operations.urls")),
    path("", include("mcp_servers.urls")),
]
