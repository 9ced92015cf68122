from django.urls import path, re_path

from . import views

urlpatterns = [
    path("api/mcp", views.api_mcp, name="api-mcp"),
    re_path(
        r"^api/mcp/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})/(?P<action>start|stop|restart|check)$",
        views.mcp_action,
        name="mcp-action",
    ),
    path("mcp/", views.mcp_page, name="mcp-page"),
]
