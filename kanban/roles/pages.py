"""Pages that read the workspace, rendered by the watcher for a web worker (`PAGE` messages).

A web worker reads no task file, telemetry DB or event; a few pages need them: the telemetry
drill-down and its exports, the MCP details page, a task's raw YAML, an operation's page with
its timeline. The web worker sends a `PAGE` request for them; the watcher renders it with its
own Django app, in process, exactly as a `--role all` dashboard would, and answers the bytes.

Only a GET or HEAD of a path on `RELAYED` is ever relayed: the web worker checks before it
asks, and the watcher checks again before it renders (a crafted message for `/admin/`,
`/health` or `../` gets a 404 saying so). The request the watcher builds carries nothing
from the browser but the path, the query string, whether htmx asked, and the CSRF secret
(so a token in the page is valid for that browser); its Host, client address and token are
the watcher's own. Query values reach the views' own validation, as on any dashboard.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, resolve

from .. import runconfig
from . import protocol as p

log = logging.getLogger("kanban.roles.pages")

# The app's own URLs (the watcher's ROOT_URLCONF answers only /health).
USUAL_URLCONF = "dashboard_project.urls"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def _always(query: QueryDict) -> bool:
    return True


def _raw_only(query: QueryDict) -> bool:
    return bool(query.get("raw"))  # the task page itself is served from the mirrored board


# URL name -> which queries of it are relayed. Nothing else ever is.
RELAYED: dict[str, Callable[[QueryDict], bool]] = {
    **{
        f"telemetry:{name}": _always
        for name in (
            "index",
            "app_list",
            "jsi18n",
            "telemetry_models",
            "telemetry_agents",
            "telemetry_tools",
            "telemetry_days",
            "telemetry_stats_csv",
            "telemetry_stats_json",
            "telemetry_invocation_changelist",
            "telemetry_invocation_change",
            "telemetry_invocation_export_csv",
            "telemetry_invocation_export_json",
        )
    },
    "mcp-page": _always,
    # Not its JSON (`api-operation`): producers poll it for Stop, so web workers answer it
    # from the mirror, without the timeline, and it never loads the watcher.
    "operation-detail": _always,
    "task-detail": _raw_only,
}

# Response headers a relayed page keeps (a Location only when it stays on this site).
RELAYED_HEADERS = ("content-disposition", "x-export-truncated", "cache-control", "location")

_CSRF_SECRET = re.compile(r"[A-Za-z0-9]{32}")
MAX_CONCURRENT = 4  # renders at once on the watcher; more wait their turn (within the timeout)


def refusal(method: str, path: str, query: str) -> str:
    """Why this request is not relayed, or "" when it is on the allow-list."""
    if method not in SAFE_METHODS:
        return f"{method} is never relayed"
    if not isinstance(path, str) or not path.startswith("/") or "\x00" in path:
        return "not a path"
    try:
        match = resolve(path, urlconf=USUAL_URLCONF)
    except Resolver404:
        return f"{path} is not a page the watcher relays"
    allowed = RELAYED.get(match.view_name)
    if allowed is None or not allowed(QueryDict(query)):
        return f"{path} is not a page the watcher relays"
    return ""


def local_location(value: str) -> bool:
    """A redirect that stays on this site (the watcher's own Host means nothing here)."""
    return value.startswith("/") and not value.startswith(("//", "/\\"))


def query_of(request: HttpRequest) -> str:
    return str(request.META.get("QUERY_STRING", ""))


def page_request(request: HttpRequest) -> dict[str, Any]:
    """What a web worker sends for `request` (CSRF secret included: see `get_token`)."""
    from django.middleware.csrf import get_token

    get_token(request)  # this worker sets the cookie if the browser has none yet
    return {
        "method": request.method,
        "path": request.path_info,
        "query": query_of(request),
        "htmx": request.headers.get("HX-Request") == "true",
        "csrf_cookie": str(request.META.get("CSRF_COOKIE", "")),
    }


# -- the watcher's side ---------------------------------------------------------------------
class _UsualApp(ASGIHandler):
    """Django's ASGI handler with every middleware, resolving against the usual URLs."""

    def create_request(self, scope: Any, body_file: Any) -> Any:
        request, error = super().create_request(scope, body_file)
        if request is not None:
            request.urlconf = USUAL_URLCONF
            # The drill-down says, by its export links, how much a relayed download may hold.
            request.relayed_max_mib = p.PAGE_MAX_BYTES // (1024 * 1024)
        return request, error


class _TooLarge(Exception):
    pass


_app: _UsualApp | None = None
_slots: asyncio.Semaphore | None = None


def _trusted_host() -> str:
    hosts = [h for h in settings.ALLOWED_HOSTS if not h.startswith(".") and "*" not in h]
    return "127.0.0.1" if "127.0.0.1" in hosts else hosts[0]


def _scope(message: dict[str, Any]) -> dict[str, Any]:
    config = runconfig.current()
    host = _trusted_host()
    headers = [(b"host", f"{host}:{config.port}".encode())]
    if config.token:  # the watcher's own token: the web worker already checked the browser's
        headers.append((b"authorization", f"Bearer {config.token}".encode()))
    secret = message.get("csrf_cookie")
    if isinstance(secret, str) and _CSRF_SECRET.fullmatch(secret):
        headers.append((b"cookie", f"{settings.CSRF_COOKIE_NAME}={secret}".encode()))
    if message.get("htmx") is True:
        headers.append((b"hx-request", b"true"))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": message["method"],
        "scheme": "http",
        "path": message["path"],
        "raw_path": message["path"].encode("utf-8", "replace"),
        "query_string": message["query"].encode("utf-8", "replace"),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": (host, config.port),
    }


def _answer(
    status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "type": p.PAGE_ANSWER,
        "status": status,
        "content_type": content_type,
        "body": body,
        "headers": headers or {},
    }


def text_answer(status: int, text: str) -> dict[str, Any]:
    return _answer(status, (text + "\n").encode(), "text/plain; charset=utf-8")


async def render(message: dict[str, Any]) -> dict[str, Any]:
    """The watcher's answer to one PAGE request (without `id`)."""
    global _app, _slots
    method, path, query = message.get("method"), message.get("path"), message.get("query")
    if not isinstance(method, str) or not isinstance(path, str) or not isinstance(query, str):
        return text_answer(400, "A page request needs a method, a path and a query string.")
    why = refusal(method, path, query)
    if why:
        log.warning("relay: page request refused: %s", why[:200])
        return text_answer(404, f"Refused: {why}.")
    if _app is None:
        _app = _UsualApp()
    if _slots is None:
        _slots = asyncio.Semaphore(MAX_CONCURRENT)
    try:
        return await asyncio.wait_for(_in_turn(_app, _slots, _scope(message)), p.PAGE_RENDER_S)
    except asyncio.TimeoutError:
        log.warning("relay: %s took over %.0f s to render; not relayed", path, p.PAGE_RENDER_S)
        return text_answer(
            503,
            f"The watcher took over {p.PAGE_RENDER_S:.0f} s to render this page: "
            "try again, or narrow the filter.",
        )


async def _in_turn(
    app: _UsualApp, slots: asyncio.Semaphore, scope: dict[str, Any]
) -> dict[str, Any]:
    async with slots:
        return await _run(app, scope)


async def _run(app: _UsualApp, scope: dict[str, Any]) -> dict[str, Any]:
    start: dict[str, Any] = {}
    body = bytearray()
    gone = asyncio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()  # Django listens for the client leaving: only when we give up
        return {"type": "http.disconnect"}

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            start.update(event)
        elif event["type"] == "http.response.body":
            body.extend(event.get("body", b""))
            if len(body) > p.PAGE_MAX_BYTES:
                raise _TooLarge

    try:
        await app(scope, receive, send)
    except _TooLarge:
        return text_answer(
            502,
            f"This page is over {p.PAGE_MAX_BYTES // (1024 * 1024)} MiB: too large to relay "
            "from the watcher. Narrow the filter (or fetch it on the watcher's machine).",
        )
    finally:
        gone.set()
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])
    }
    kept = {name: headers[name] for name in RELAYED_HEADERS if name in headers}
    if "location" in kept and not local_location(kept["location"]):
        del kept["location"]
    content_type = headers.get("content-type", "text/html; charset=utf-8")
    return _answer(int(start.get("status", 500)), bytes(body), content_type, kept)
