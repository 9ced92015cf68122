"""`@action_view`: the one guard every action (Stop, MCP start/stop...) is written with.

An action is a POST that changes something. It must come from the dashboard's own page:
- POST only (405 otherwise);
- the token, when the dashboard has one (401), even if a middleware was left out;
- an `Origin`, if sent, exactly the dashboard's own, port included (403);
- Django's CSRF token (403): the page has the `csrftoken` cookie and htmx sends it as
  `X-CSRFToken` (`hx-headers` on <body> in base.html).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from inspect import iscoroutinefunction
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from .security import foreign_origin_response, origin_allowed, request_has_token

View = TypeVar("View", bound=Callable[..., Any])


def _refusal(request: HttpRequest) -> HttpResponse | None:
    if not request_has_token(request):
        return HttpResponse(
            "This action needs the dashboard's token.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
    if not origin_allowed(request):
        return foreign_origin_response()
    return None


def action_view(view: View) -> View:
    # The CSRF check comes last, so a request without the token learns only that (401).
    protected = csrf_protect(view)
    guarded: Callable[..., Any]
    if iscoroutinefunction(view):

        async def guarded_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refusal = _refusal(request)
            if refusal is not None:
                return refusal
            return await protected(request, *args, **kwargs)

        guarded = guarded_async
    else:

        def guarded_sync(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refusal = _refusal(request)
            if refusal is not None:
                return refusal
            return protected(request, *args, **kwargs)

        guarded = guarded_sync
    # require_POST outermost: anything but a POST is a 405 before the rest is looked at.
    return require_POST(functools.wraps(view)(guarded))  # type: ignore[return-value]
