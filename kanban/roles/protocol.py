"""The messages between a watcher and its web workers over the "relay" channel layer.

Plain data only (channels-redis packs them with msgpack). Every message from the watcher
carries its `boot` id: a web worker that sees a new one (the watcher restarted) takes the
whole state again.

watcher -> every web worker (group `WEB_GROUP`):
    BATCH      {boot, seq, events, items, problems}   one change (`BoardState._batch`)
    PANEL      {boot, name, html, data}                a panel's HTML and its JSON
    HEARTBEAT  {boot, seq, health}                     every `HEARTBEAT_S`
watcher -> one web worker (its reply channel):
    SNAPSHOT   {boot, seq, board, feed, feed_number, panels: {name: html}, data: {name: json},
                health}
    ANSWER     {id, status, body}                      to a forwarded action
    PAGE_ANSWER {id, status, content_type, body, headers}  a page the watcher rendered
web worker -> the watcher (group `WATCHER_GROUP`):
    WANT_SNAPSHOT {reply_to}
    ACTION     {id, reply_to, action, args}            one of `ACTIONS`
    PAGE       {id, reply_to, method, path, query, htmx, csrf_cookie}
                                                       a GET or HEAD of a page that reads the
                                                       workspace (`kanban.roles.pages`)

A PAGE is answered by the watcher's own Django app, in process, for a path on the fixed
allow-list of `kanban.roles.pages` only (both sides check it); `csrf_cookie` is the browser's
CSRF secret, so a token rendered in the page is valid for that browser; `body` is bytes, at
most `PAGE_MAX_BYTES`; `headers` are the few of `pages.RELAYED_HEADERS` the page set.
"""

from __future__ import annotations

RELAY_LAYER = "relay"
WEB_GROUP = "dashboard.web"
WATCHER_GROUP = "dashboard.watcher"

BATCH = "relay.batch"
PANEL = "relay.panel"
HEARTBEAT = "relay.heartbeat"
SNAPSHOT = "relay.snapshot"
ANSWER = "relay.answer"
WANT_SNAPSHOT = "relay.want_snapshot"
ACTION = "relay.action"
PAGE = "relay.page"
PAGE_ANSWER = "relay.page_answer"

# What a web worker may ask the watcher to do; nothing else is ever carried out.
STOP_OPERATION = "operation.stop"
MCP_ACTION = "mcp.action"
INGEST_EVENTS = "events.ingest"
ACTIONS = frozenset({STOP_OPERATION, MCP_ACTION, INGEST_EVENTS})

HEARTBEAT_S = 2.0
# No word from the watcher for this long: it is gone (three heartbeats missed).
WATCHER_SILENT_S = 6.5
# A forwarded action the watcher has not answered within this long gets a 503.
ACTION_TIMEOUT_S = 2.0
# A page the watcher renders for a web worker: answered within this long, or a 503 saying so;
# the watcher gives up rendering a little before, so its own answer can still arrive.
PAGE_TIMEOUT_S = 5.0
PAGE_RENDER_S = 4.0
# A rendered page larger than this is not relayed (a 502 says to narrow the filter).
PAGE_MAX_BYTES = 4 * 1024 * 1024
# Group memberships are renewed this often: a restarted Redis has forgotten them.
REJOIN_S = 2.0
# An unanswered snapshot request is repeated after this long.
SNAPSHOT_RETRY_S = 2.0
