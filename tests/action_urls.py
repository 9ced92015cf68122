"""A test-only URLconf: two actions guarded by `action_view`, sync and async."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from dashboard_project.actions import action_view


@action_view
def act(request: HttpRequest) -> HttpResponse:
    return HttpResponse("done", status=202)


@action_view
async def act_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("done", status=202)


urlpatterns = [
    path("test/act", act),
    path("test/act-async", act_async),
    path("", include("dashboard_project.urls")),
]
