"""CSV and JSON downloads (FR-C2): the filtered invocation list, and the summary figures.

Why async iterators: under ASGI, Django 5.2 buffers a StreamingHttpResponse over a *sync*
iterator whole (`sync_to_async(list)`), so a million-row export sat in memory. Here the list's
ids are read first (8 bytes a row, capped at `max_rows()`), then the rows in batches of
`BATCH_ROWS` by id, each batch read and formatted on the request's own thread. Memory stays flat,
no read transaction stays open while a slow client downloads, and when the client goes away
Django cancels the iterator and nothing more is read.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from array import array
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from . import service as telemetry
from .db import ALIAS
from .query_deadline import QueryTooSlow, query_deadline

logger = logging.getLogger(__name__)

BATCH_ROWS = 1000  # one query each; well under SQLite's limit on bound parameters
CHUNK_CHARS = 64 * 1024
# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv; charset=utf-8"
JSON_TYPE = "application/json"


def max_rows() -> int:
    return int(settings.DASHBOARD_EXPORT_MAX_ROWS)


def plain(value: object) -> object:
    """A value JSON and CSV can carry: text for dates and BLOBs, None for NaN and infinities."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def csv_cell(value: object) -> object:
    value = plain(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_line(cells: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(c) for c in cells])
    return buffer.getvalue()


def attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- the invocation list ------------------------------------------------------------------
def invocations(request: HttpRequest, queryset: QuerySet, fields: list[str], kind: str):
    """`queryset` is the list on screen (filters, search and order applied); `fields` start
    with "id". Runs inside the drill-down's guard, so the id query has the time limit."""
    assert fields[0] == "id"
    content_type = CSV_TYPE if kind == "csv" else JSON_TYPE
    if request.method == "HEAD":
        return attachment(HttpResponse(content_type=content_type), f"invocations.{kind}")
    cap = max_rows()
    ids = array("q")
    for pk in queryset.values_list("id", flat=True)[: cap + 1].iterator(chunk_size=10_000):
        if pk is not None:
            ids.append(pk)
    truncated = len(ids) > cap
    del ids[cap:]
    rows = _rows(queryset.model, ids, fields, kind)
    response = StreamingHttpResponse(rows, content_type=content_type)
    if truncated:
        logger.info("invocation export cut at %d rows (DASHBOARD_EXPORT_MAX_ROWS)", cap)
        response["X-Export-Truncated"] = f"first {cap} rows"
        return attachment(response, f"invocations-first-{cap}.{kind}")
    return attachment(response, f"invocations.{kind}")


async def _rows(model: type[Model], ids: array, fields: list[str], kind: str) -> AsyncIterator[str]:
    sent, failed = 0, False
    yield csv_line(fields) if kind == "csv" else "["
    try:
        for start in range(0, len(ids), BATCH_ROWS):
            batch = ids[start : start + BATCH_ROWS]
            # Thread-sensitive: the request's own thread, hence its own open connection.
            yield await sync_to_async(_batch_text)(model, batch, fields, kind, start == 0)
            sent += len(batch)
    except (DatabaseError, QueryTooSlow) as exc:
        # Headers are gone: all we can do is stop (the JSON stays unclosed) and say why.
        logger.warning("invocation export stopped after %d of %d rows: %s", sent, len(ids), exc)
        failed = True
        return
    finally:
        if sent < len(ids) and not failed:  # the client went away: Django closed us
            logger.info("invocation export ended after %d of %d rows", sent, len(ids))
    if kind == "json":
        yield "]\n"


def _batch_text(
    model: type[Model], ids: Sequence[int], fields: list[str], kind: str, first: bool
) -> str:
    with query_deadline():
        found = model._default_manager.using(ALIAS).filter(id__in=list(ids)).order_by()
        by_id = {row[0]: row for row in found.values_list(*fields)}
    rows = [by_id[i] for i in ids if i in by_id]  # rows deleted meanwhile are skipped
    if kind == "csv":
        return "".join(csv_line(row) for row in rows)
    text = ",\n".join(
        json.dumps({f: plain(v) for f, v in zip(fields, row, strict=True)}, cls=DjangoJSONEncoder)
        for row in rows
    )
    return text if first or not text else ",\n" + text


# -- the summary figures (from memory) ---------------------------------------------------
async def _chunked(pieces: Iterator[str]) -> AsyncIterator[str]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def stats_json(request: HttpRequest) -> HttpResponseBase:
    if request.method == "HEAD":
        return attachment(HttpResponse(content_type=JSON_TYPE), "telemetry-stats.json")
    pieces = DjangoJSONEncoder(indent=2).iterencode(telemetry.get_stats())
    response = StreamingHttpResponse(_chunked(pieces), content_type=JSON_TYPE)
    return attachment(response, "telemetry-stats.json")


def stats_csv(request: HttpRequest) -> HttpResponseBase:
    """One flat table: section, key, invocations, tokens, cost (USD)."""
    if request.method == "HEAD":
        return attachment(HttpResponse(content_type=CSV_TYPE), "telemetry-stats.csv")
    lines = (csv_line(r) for r in stats_rows(telemetry.get_stats()))
    response = StreamingHttpResponse(_chunked(lines), content_type=CSV_TYPE)
    return attachment(response, "telemetry-stats.csv")


def stats_rows(stats: dict) -> Iterator[list[Any]]:
    yield ["section", "key", "invocations", "tokens", "cost_usd"]
    yield ["total", "all", stats["invocations"], stats["tokens"], stats["cost"]["total"]]
    if stats["daily"]:
        today = stats["daily"][-1]["date"]
        yield [
            "today",
            today,
            stats["today"]["invocations"],
            stats["today"]["tokens"],
            stats["cost"]["today"],
        ]
        yield ["month", today[:7], "", "", stats["cost"]["month"]]
    for key, value in (
        ("avg_cost_per_invocation", stats["avg_cost"]),
        ("cost_velocity_24h", stats["cost_velocity"]),
        ("latency_avg_ms", stats["latency_ms"]["avg"]),
        ("latency_p95_ms", stats["latency_ms"]["p95"]),
        ("success_rate", stats["success_rate"]),
    ):
        yield ["metric", key, "", "", "" if value is None else value]
    for section, key in (("model", "models"), ("agent", "agents"), ("tool", "tools")):
        for row in stats[key]:
            yield [section, row[section], row["invocations"], row["tokens"], row["cost"]]
    for row in stats["daily"]:
        yield ["day", row["date"], row["invocations"], row["tokens"], row["cost"]]
