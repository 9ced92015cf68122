"""The shared-secret check for a dashboard bound beyond loopback (HTTP and WebSocket)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE = "dashboard_token"


def token_matches(candidate: str | None) -> bool:
    expected = settings.DASHBOARD_TOKEN
    return bool(candidate) and secrets.compare_digest(str(candidate).encode(), expected.encode())


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


class TokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.DASHBOARD_TOKEN:
            return self.get_response(request)
        from_query = request.GET.get("token")
        if token_matches(from_query):
            response = self.get_response(request)
            # Once is enough: the cookie carries it from then on, WebSocket included.
            response.set_cookie(COOKIE, from_query, httponly=True, samesite="Strict")
            return response
        if token_matches(request.COOKIES.get(COOKIE)) or token_matches(
            _bearer(request.headers.get("Authorization"))
        ):
            return self.get_response(request)
        return HttpResponse(
            "This dashboard needs its token: open it once with ?token=<token>, "
            "or send 'Authorization: Bearer <token>'.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )


class TokenWebSocketMiddleware:
    """Refuses the handshake unless the token came as a cookie, a query or a bearer header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if settings.DASHBOARD_TOKEN and not self._authorised(scope):
            await send({"type": "websocket.close", "code": 4401})
            return None
        return await self.app(scope, receive, send)

    def _authorised(self, scope: dict[str, Any]) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:
            return False
        query = parse_qs(scope.get("query_string", b"").decode())
        candidates = [
            cookies[COOKIE].value if COOKIE in cookies else None,
            (query.get("token") or [None])[0],
            _bearer(headers.get("authorization")),
        ]
        return any(token_matches(c) for c in candidates)
