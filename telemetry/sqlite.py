"""Opening the telemetry file strictly read-only, and noticing when it changes. No Django."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import quote

from .groups import prepare as prepare_groups
from .timestamps import utc_text

# CONTRACT section 7: a locked database gives up within 5 s; 4 s leaves room for the rest.
BUSY_TIMEOUT_S = 4.0
SIDE_FILES = ("-journal", "-wal", "-shm")


class NotARegularFile(sqlite3.OperationalError):
    """The path is a FIFO, a device, a directory...: opening it could block forever."""


def check_regular(path: Path) -> os.stat_result:
    """stat() the path (following symlinks) and refuse anything but a regular file.

    Why before every open: open() on a FIFO blocks until a writer comes, which may be never.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
        if stat.S_ISDIR(st.st_mode):
            kind = "a directory"
        raise NotARegularFile(f"{Path(path).name} is {kind}")
    return st


def _read_header(path: Path, size: int) -> bytes:
    # O_NONBLOCK: even if the path was swapped for a FIFO since check_regular, never block.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, size)
    finally:
        os.close(fd)


def is_wal_without_sidecars(path: Path) -> bool:
    """A WAL-mode file whose writer is not running (no -wal/-shm next to it).

    Opening such a file even with mode=ro makes SQLite create -wal and -shm beside it; we promise
    to create nothing, so we open it `immutable` instead (nothing can be in flight: no WAL).
    """
    try:
        check_regular(path)
        header = _read_header(path, 20)
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
    check_regular(path)
    conn = sqlite3.connect(readonly_uri(path), uri=True, timeout=timeout, check_same_thread=False)
    try:
        prepare(conn)
    except BaseException:
        conn.close()
        raise
    return conn


# sqlite3 authorizer action codes that change a schema or attach files: never allowed.
_NEVER = {
    sqlite3.SQLITE_CREATE_INDEX,
    sqlite3.SQLITE_CREATE_TABLE,
    sqlite3.SQLITE_CREATE_TRIGGER,
    sqlite3.SQLITE_CREATE_VIEW,
    sqlite3.SQLITE_DROP_INDEX,
    sqlite3.SQLITE_DROP_TABLE,
    sqlite3.SQLITE_DROP_TRIGGER,
    sqlite3.SQLITE_DROP_VIEW,
    sqlite3.SQLITE_ALTER_TABLE,
    sqlite3.SQLITE_ATTACH,
    sqlite3.SQLITE_DETACH,
    sqlite3.SQLITE_REINDEX,
    sqlite3.SQLITE_ANALYZE,
    sqlite3.SQLITE_CREATE_VTABLE,
    sqlite3.SQLITE_DROP_VTABLE,
}
_CHANGES = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}


def _temp_only(action: int, arg1: str | None, arg2: str | None, db: str | None, _t: object) -> int:
    if action in _NEVER:
        return sqlite3.SQLITE_DENY
    if action in _CHANGES and db != "temp":
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def open_for_sums(path: Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A read-only connection that may write its own TEMP tables (see groups.py).

    mode=ro already makes the file unwritable; the authorizer also refuses, at prepare time,
    any change outside `temp` and any schema change. Autocommit: transactions are explicit.
    """
    check_regular(path)
    conn = sqlite3.connect(
        readonly_uri(path),
        uri=True,
        timeout=timeout,
        check_same_thread=False,
        isolation_level=None,
    )
    try:
        conn.execute("PRAGMA temp_store = FILE")  # see groups.py: faster than MEMORY
        prepare_groups(conn)  # the TEMP tables, created before the authorizer is set
        conn.set_authorizer(_temp_only)
    except BaseException:
        conn.close()
        raise
    return conn


def data_version(conn: sqlite3.Connection) -> int:
    """Changes when another connection commits to the file (SQLite's own change counter)."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def signature(path: Path) -> tuple:
    """What decides how we open the file: which inode it is and which side files exist.
    stat only: opening could block (a FIFO). Commits are seen through `data_version`."""
    parts: list[object] = []
    for suffix in ("", "-wal", "-shm"):
        try:
            st = os.stat(str(path) + suffix)
        except OSError:
            parts.append(None)
            continue
        parts.append((st.st_dev, st.st_ino) if not suffix else True)
    return tuple(parts)


def inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
