# STUB: the task detail and dependency graph views (issue 4 work replaces this file).
from django.http import Http404, HttpRequest, HttpResponse


def task_detail(request: HttpRequest, task_id: str) -> HttpResponse:
    raise Http404("not yet")


def graph(request: HttpRequest) -> HttpResponse:
    raise Http404("not yet")
