"""Opening the telemetry file strictly read-only, and noticing when it changes. No Django."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from .timestamps import utc_text

# CONTRACT section 7: a locked database gives up within 5 s; 4 s leaves room for the rest.
BUSY_TIMEOUT_S = 4.0
SIDE_FILES = ("-journal", "-wal", "-shm")


def is_wal_without_sidecars(path: Path) -> bool:
    """A WAL-mode file whose writer is not running (no -wal/-shm next to it).

    Opening such a file even with mode=ro makes SQLite create -wal and -shm beside it; we promise
    to create nothing, so we open it `immutable` instead (nothing can be in flight: no WAL).
    """
    try:
        with open(path, "rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    if len(header) < 20 or header[18] != 2:  # bytes 18/19: 2 means WAL
        return False
    return not any(Path(str(path) + s).exists() for s in ("-wal", "-shm"))


def readonly_uri(path: Path) -> str:
    # as_uri() would need an absolute path and percent-encodes exactly what SQLite expects.
    uri = "file:" + quote(str(Path(path).resolve())) + "?mode=ro"
    if is_wal_without_sidecars(path):
        uri += "&immutable=1"
    return uri


def prepare(conn: sqlite3.Connection) -> None:
    """Belt and braces on every connection we open: refuse writes, keep temp data in memory."""
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.create_function("tm_utc", 1, utc_text, deterministic=True)


def open_readonly(path: Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """Never creates the file: mode=ro fails on a missing one instead."""
    conn = sqlite3.connect(readonly_uri(path), uri=True, timeout=timeout, check_same_thread=False)
    try:
        prepare(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def signature(path: Path) -> tuple:
    """What changes when another process commits: stat of the file and its -wal/-journal,
    plus the header's change counter (bytes 24-27, bumped on every rollback-mode commit,
    which catches an in-place UPDATE inside one mtime tick)."""
    parts: list[object] = []
    for suffix in ("", "-wal", "-journal"):
        try:
            st = os.stat(str(path) + suffix)
        except OSError:
            parts.append(None)
            continue
        parts.append((st.st_ino, st.st_size, st.st_mtime_ns))
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
        parts.append(header[24:28] + header[92:100])
    except OSError:
        parts.append(None)
    return tuple(parts)


def inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
