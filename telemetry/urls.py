from django.urls import path

from . import views
from .admin import site

urlpatterns = [
    path("api/stats", views.api_stats, name="api-stats"),
    # Exports live inside the admin site: /telemetry/export/stats.{csv,json} and
    # /telemetry/telemetry/invocation/export.{csv,json}?<the list's filters>.
    path("telemetry/", site.urls),
]
