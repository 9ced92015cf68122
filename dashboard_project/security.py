"""The edge's checks, for HTTP and the WebSocket alike.

- Host: one of `ALLOWED_HOSTS` (an explicit list, never "*").
- Origin: exactly the dashboard's own origin, scheme, host and port, as the browser sees it.
  A WebSocket handshake must carry it; an unsafe HTTP method may omit it (scripts), but a
  foreign or `null` one is refused.
- Token (when set, always beyond loopback): `?token=` once, then a cookie holding a value
  derived from it (never the token itself), or `Authorization: Bearer`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.http.request import split_domain_port, validate_host
from django.utils.encoding import escape_uri_path

from kanban import runconfig

COOKIE = "dashboard_token"
TOKEN_PARAM = "token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


# -- the token ------------------------------------------------------------------------------
def cookie_value(token: str) -> str:
    """What the cookie holds: stealing it opens this dashboard, but never reveals the token.

    Stable across restarts (no per-process key), so a browser stays signed in.
    """
    return hmac.new(token.encode(), b"realtime-dashboard cookie v1", hashlib.sha256).hexdigest()


def _same(candidate: str | None, expected: str) -> bool:
    return bool(candidate) and secrets.compare_digest(str(candidate).encode(), expected.encode())


def bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def request_has_token(request: HttpRequest) -> bool:
    """The token rule for one request: no token set, or it came as a cookie or a bearer."""
    token = runconfig.current().token
    if not token:
        return True
    return (
        _same(request.COOKIES.get(COOKIE), cookie_value(token))
        or _same(bearer(request.headers.get("Authorization")), token)
        or _same(request.GET.get(TOKEN_PARAM), token)
    )


def _set_cookie(response: HttpResponse, token: str) -> None:
    # Secure on https requests: SecureCookiesMiddleware marks every cookie set then.
    response.set_cookie(COOKIE, cookie_value(token), httponly=True, samesite="Strict")


def _without_token_param(request: HttpRequest) -> str:
    pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    query = urlencode([(k, v) for k, v in pairs if k != TOKEN_PARAM])
    # One leading slash: "//evil.example/" must not become a protocol-relative redirect.
    path = "/" + escape_uri_path(request.path).lstrip("/")
    return f"{path}?{query}" if query else path


def _drop_token_param(request: HttpRequest) -> None:
    """The token is ours: views (the admin's filters) never see it as a parameter."""
    if TOKEN_PARAM not in request.GET:
        return
    query = request.GET.copy()
    del query[TOKEN_PARAM]
    request.GET = QueryDict(query.urlencode())
    request.META["QUERY_STRING"] = request.GET.urlencode()


def _is_navigation(request: HttpRequest) -> bool:
    # A browser opening a page (the link a user was given) sends one of these; curl and
    # scripts send neither and get their data straight away, without following a redirect.
    accept = request.headers.get("Accept", "")
    return request.headers.get("Sec-Fetch-Mode") == "navigate" or "text/html" in accept


class TokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = runconfig.current().token
        if not token:
            return self.get_response(request)
        if _same(request.GET.get(TOKEN_PARAM), token):
            if request.method in ("GET", "HEAD") and _is_navigation(request):
                # Take the token out of the address bar (and history); the cookie carries it.
                response: HttpResponse = HttpResponseRedirect(_without_token_param(request))
            else:
                _drop_token_param(request)
                response = self.get_response(request)
            _set_cookie(response, token)
            return response
        if request_has_token(request):
            _drop_token_param(request)
            return self.get_response(request)
        return HttpResponse(
            "This dashboard needs its token: open it once with ?token=<token>, "
            "or send 'Authorization: Bearer <token>'.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )


class SecureCookiesMiddleware:
    """Cookies set on an https request (TLS at daphne, or a proxy with --proxy-headers) are
    marked Secure: a browser then never sends them over plain http. Django's own
    *_COOKIE_SECURE settings cannot say "when the request was https"."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.is_secure():
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response


# -- Host and Origin ------------------------------------------------------------------------
def _host_port(host: str, scheme: str) -> tuple[str, int] | None:
    domain, port = split_domain_port(host)
    if not domain:
        return None
    try:
        number = int(port) if port else _DEFAULT_PORTS[scheme]
    except (ValueError, KeyError):
        return None
    return domain.strip("[]"), number


def host_allowed(host: str) -> bool:
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def same_origin(origin: str | None, scheme: str, host: str) -> bool:
    """Whether `origin` is exactly `scheme://host` (default ports written or not)."""
    if not origin or origin == "null":
        return False
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme != scheme or not parts.hostname or parts.path or parts.query:
        return False
    ours = _host_port(host, scheme)
    theirs = (parts.hostname.lower(), origin_port or _DEFAULT_PORTS.get(scheme, 0))
    return ours is not None and ours == theirs


class AllowedHostMiddleware:
    """Checks the Host first, so a foreign Host is a 400 even for static files."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.get_host()  # raises DisallowedHost: Django answers 400
        return self.get_response(request)


def origin_allowed(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or same_origin(origin, request.scheme or "http", request.get_host())


def foreign_origin_response() -> HttpResponse:
    return HttpResponse(
        "Refused: this request came from a page of another origin.\n",
        status=403,
        content_type="text/plain; charset=utf-8",
    )


class SameOriginMiddleware:
    """An unsafe method from a page of another origin (another port too) is refused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in UNSAFE_METHODS and not origin_allowed(request):
            return foreign_origin_response()
        return self.get_response(request)


# -- the WebSocket --------------------------------------------------------------------------
def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _websocket_page_scheme(scope: dict[str, Any], headers: dict[str, str]) -> str:
    """The scheme of the page that opens the socket. daphne puts no scheme in a WebSocket
    scope (and ignores X-Forwarded-Proto there), so behind a TLS proxy (--proxy-headers)
    the proxy's header says it, as daphne does for HTTP requests."""
    if runconfig.current().proxy_headers and "x-forwarded-for" in headers:
        forwarded = headers.get("x-forwarded-proto", "").strip().lower()
        if forwarded in ("http", "https"):
            return forwarded
    return "https" if scope.get("scheme") in ("wss", "https") else "http"


class SameOriginWebSocketMiddleware:
    """Refuses a handshake unless Host is ours and Origin is exactly the page's own origin."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = _headers(scope)
        host = headers.get("host", "")
        scheme = _websocket_page_scheme(scope, headers)
        if not (host_allowed(host) and same_origin(headers.get("origin"), scheme, host)):
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)


class TokenWebSocketMiddleware:
    """Refuses the handshake unless the token came as the cookie, a query or a bearer header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        token = runconfig.current().token
        if token and not self._authorised(scope, token):
            await send({"type": "websocket.close", "code": 4401})
            return None
        return await self.app(scope, receive, send)

    def _authorised(self, scope: dict[str, Any], token: str) -> bool:
        headers = _headers(scope)
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except CookieError:
            return False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return (
            (COOKIE in cookies and _same(cookies[COOKIE].value, cookie_value(token)))
            or _same((query.get(TOKEN_PARAM) or [None])[0], token)
            or _same(bearer(headers.get("authorization")), token)
        )
