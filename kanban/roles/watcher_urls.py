"""The watcher's URLs: /health, and a clear 404 for anything else.

The usual patterns follow for `reverse()` only (feed entries and panels link to pages).
"""

from django.urls import path, re_path

from dashboard_project.urls import urlpatterns as usual

from . import views

urlpatterns = [
    path("health", views.watcher_health),
    re_path(r"^(?P<rest>.*)$", views.watcher_only),
    *usual,
]
