"""Django's SQLite backend, opened read-only, with a TEMP view that gives both schemas one shape.

Why a backend and not just `NAME = "file:...?mode=ro"`: a WAL-mode file without its -wal/-shm
must be opened `immutable` or SQLite creates those files beside it, and the view must be created
on every new connection from the columns the file has *now* (it may be replaced at any time).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from django.db.backends.sqlite3 import base

from telemetry.schema import Schema, SchemaError, read_schema, view_sql
from telemetry.sqlite import check_regular, prepare, readonly_uri
from telemetry.timestamps import utc_text


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        name = str(params["database"])
        if not name.startswith("file:"):
            params["database"] = readonly_uri(Path(name))
        elif "mode=ro" not in name:
            params["database"] = name + ("&" if "?" in name else "?") + "mode=ro"
        params["uri"] = True
        return params

    def get_new_connection(self, conn_params: dict) -> sqlite3.Connection:
        name = str(self.settings_dict["NAME"])
        if not name.startswith("file:"):
            # A FIFO would block the request thread in open() for good: refuse it first
            # (raised as an OperationalError, which the drill-down shows as a 503).
            # A missing file: SQLite says "unable to open" itself (mode=ro never creates it).
            with contextlib.suppress(FileNotFoundError):
                check_regular(Path(name))
        conn = super().get_new_connection(conn_params)
        try:
            schema = read_schema(conn)
        except SchemaError:
            schema = None  # the page shows the service's message; the list is just empty
        prepare_view(conn, schema)
        return conn


def prepare_view(conn: sqlite3.Connection, schema: Schema | None) -> None:
    conn.create_function("tm_utc", 1, utc_text, deterministic=True)
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute(view_sql(schema))
    prepare(conn)  # query_only from here on
