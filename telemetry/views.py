"""JSON for scripts: GET /api/stats (CONTRACT section 4)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from . import service
from .db import ensure_configured


@require_safe
def api_stats(request: HttpRequest) -> JsonResponse:
    """Answered from memory. Costs are USD numbers rounded to 1e-6 (the page shows cents);
    `state` is ok/loading/missing/error with `message` saying why."""
    ensure_configured()
    return JsonResponse(service.get_stats())
