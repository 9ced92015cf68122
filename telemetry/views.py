"""JSON for scripts: GET /api/stats (CONTRACT section 4)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from . import service
from .db import ensure_configured


@require_safe
def api_stats(request: HttpRequest) -> JsonResponse:
    """Answered from memory. Costs are USD numbers rounded to 1e-6 (the page shows cents);
    `state` is ok/loading (first aggregation running)/missing/error with `message` saying why."""
    ensure_configured()
    # The figures are finite by construction (aggregate.py); never let a NaN out as "NaN".
    return JsonResponse(service.get_stats(), json_dumps_params={"allow_nan": False})
