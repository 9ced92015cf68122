"""Task files: where a file sits decides its lane, its YAML decides the rest.

Pure Python, no Django: parsing one file into a `Task` or a `Problem`.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .times import task_moment

try:  # libyaml is several times faster on big trees; the pure loader is the fallback.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

LANES = ("inbox", "assigned", "done")
IGNORED_TOP = frozenset({"archive", "fridge", "backups"})
TASK_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 1024 * 1024
# Aliases let a 1 KiB file expand to gigabytes ("billion laughs") once walked.
MAX_EXPANDED_NODES = 20_000
UNASSIGNED = "unassigned"
# Cards and graph nodes show at most this much of a title; the detail shows all of it.
MAX_TITLE_CHARS = 300
KNOWN_PRIORITIES = ("critical", "high", "medium", "normal", "low")
ATTENTION_STATUSES = frozenset({"in_progress", "blocked", "error", "failed"})


class TaskFileError(Exception):
    """A file that is not a valid task; the message is the one-line reason users see.

    `transient`: the failure says nothing about the file (no free file descriptors or
    memory); it is read again later rather than remembered.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


# Out of file descriptors or memory: the process's trouble, not the file's.
TRANSIENT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.EAGAIN, errno.ENOMEM})


@dataclass(frozen=True)
class Dependency:
    task_id: str | None
    kind: str = ""
    description: str = ""


@dataclass(frozen=True)
class Task:
    id: str
    path: str  # relative to the collab dir, POSIX separators
    lane: str
    agent: str
    title: str
    priority: str
    status: str
    estimated_hours: str | float | int | None
    dependencies: tuple[Dependency, ...]
    updated_at: float  # the file's last change (content or place), seconds since the epoch
    data: dict[str, Any] = field(compare=False, hash=False, repr=False)
    stale: str = ""  # why the file is currently unreadable; the card keeps its last good state
    has_title: bool = True
    has_agent: bool = True
    pending: bool = False  # listed from its path only, not parsed yet (startup of huge trees)

    @cached_property
    def own_time(self) -> tuple[float | None, str]:
        """The task's own time for its lane and the field it came from (see kanban/times.py)."""
        return task_moment(self.data, self.lane)

    @property
    def moment(self) -> float:
        """When the task last moved, from its own timestamps; the file's time only as a fallback."""
        own = self.own_time[0]
        return self.updated_at if own is None else own

    @property
    def moment_source(self) -> str:
        """The field `moment` came from, or "" when it is the file's time."""
        return self.own_time[1] if self.own_time[0] is not None else ""

    @property
    def full_title(self) -> str:
        return _text(self.data.get("title")) or self.title

    @property
    def dependency_ids(self) -> list[str]:
        return [d.task_id for d in self.dependencies if d.task_id]

    @property
    def attention(self) -> bool:
        """The status disagrees with the lane in a way worth a second look."""
        return self.status in ATTENTION_STATUSES

    def content_key(self) -> tuple[Any, ...]:
        """What a user can see change, for telling an edit from a no-op touch."""
        return (self.path, self.stale, _freeze(self.data))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "agent": self.agent,
            "priority": self.priority,
            "status": self.status,
            "lane": self.lane,
            "path": self.path,
            "dependencies": self.dependency_ids,
            "estimated_hours": self.estimated_hours,
            "updated_at": dt.datetime.fromtimestamp(self.updated_at, dt.timezone.utc).isoformat(),
            "stale": bool(self.stale),
            "pending": self.pending,
        }


@dataclass(frozen=True)
class Problem:
    path: str
    error: str
    transient: bool = field(default=False, compare=False)  # worth reading again later

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error}


def classify(relpath: str) -> tuple[str, str | None] | None:
    """The lane and folder agent of a path relative to the collab dir, or None if not a task.

    The agent is None for files directly under assigned/ or done/ (the YAML decides then).
    """
    parts = PurePosixPath(relpath).parts
    if not parts or parts[0] not in LANES:
        return None
    name = parts[-1]
    if not name.endswith(TASK_SUFFIXES) or is_ignored_name(name):
        return None
    if any(p.startswith(".") for p in parts[:-1]):
        return None
    if parts[0] == "inbox":
        return ("inbox", None)
    if len(parts) == 2:
        return (parts[0], None)
    return (parts[0], parts[1])


def is_ignored_name(name: str) -> bool:
    return (
        name.startswith(".") or name.endswith(("~", ".swp", ".swx", ".tmp")) or name.startswith("#")
    )


def load_yaml(text: str) -> Any:
    data = yaml.load(text, Loader=_BaseLoader)  # noqa: S506 - a safe loader
    # Aliases share nodes, so loading stays cheap, but anything that walks the result (display,
    # comparison) would pay for the full expansion: refuse documents that expand too far.
    if "*" in text and _expanded_size(data, {}) > MAX_EXPANDED_NODES:
        raise TaskFileError("YAML aliases expand too far (an alias bomb?)")
    return data


def _expanded_size(value: Any, memo: dict[int, int]) -> int:
    if not isinstance(value, (dict, list)):
        return 1
    key = id(value)
    if key in memo:
        return memo[key]
    memo[key] = MAX_EXPANDED_NODES + 1  # a cycle counts as too big
    items = value.values() if isinstance(value, dict) else value
    total = 1
    for item in items:
        total += _expanded_size(item, memo)
        if total > MAX_EXPANDED_NODES:
            break
    memo[key] = total
    return total


def read_task_file(root: Path, relpath: str) -> tuple[str, os.stat_result]:
    """The file's text, refusing what we must not or cannot read.

    The file is opened once and every check is made on that open descriptor, never on the
    path first: an agent can swap a file for a symlink or a FIFO between a check and an open.
    """
    try:
        fd = open_beneath(os.path.realpath(root), relpath)
    except PermissionError:
        raise TaskFileError("permission denied: the file cannot be read") from None
    except IsADirectoryError:
        raise TaskFileError("is a directory") from None
    except OSError as exc:
        raise TaskFileError(
            f"cannot be read: {exc.strerror or exc}", transient=exc.errno in TRANSIENT_ERRNOS
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            # A FIFO or device would block or never end: never read one.
            raise TaskFileError("not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise TaskFileError(f"file is larger than 1 MiB ({st.st_size:,} bytes)")
        raw = _read_fd(fd, MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise TaskFileError(
            f"cannot be read: {exc.strerror or exc}", transient=exc.errno in TRANSIENT_ERRNOS
        ) from None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        raise TaskFileError("file is larger than 1 MiB")
    try:
        return raw.decode("utf-8-sig"), st
    except UnicodeDecodeError as exc:
        raise TaskFileError(f"not UTF-8 text (bad byte at offset {exc.start})") from None


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO must not wait for a writer that never comes.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
MAX_LINK_HOPS = 8


def open_beneath(root_real: str, relpath: str) -> int:
    """An fd for `relpath` opened strictly inside `root_real`, whatever changes meanwhile.

    Each component is opened relative to its parent's fd without following links. A link met
    on the way is resolved, checked to stay inside the root, and the walk starts again from
    the root with the resolved path, still without following anything: what is opened in the
    end is inside the tree even if links are swapped while we walk.
    """
    parts = _safe_parts(relpath)
    for _ in range(MAX_LINK_HOPS):
        opened = _walk_open(root_real, parts)
        if isinstance(opened, int):
            _check_inside(root_real, opened)
            return opened
        # parts[: link_at + 1] is a symbolic link: resolve it and walk again from the root.
        link_at = opened[0]
        try:
            resolved = os.path.realpath(os.path.join(root_real, *parts[: link_at + 1]))
        except OSError:
            continue  # it changed while we looked: walk again
        if not _inside(root_real, resolved):
            raise TaskFileError("symbolic link points outside the collaboration directory")
        rest = parts[link_at + 1 :]
        parts = _safe_parts(os.path.relpath(resolved, root_real)) + rest
    raise TaskFileError("too many levels of symbolic links")


def _walk_open(root_real: str, parts: list[str]) -> int | tuple[int]:
    """The file's fd, or (index,) of the first component that is a symbolic link."""
    dfd = os.open(root_real, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, name in enumerate(parts[:-1]):
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=dfd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(name, dfd):
                    return (i,)
                raise
            os.close(dfd)
            dfd = child
        try:
            return os.open(parts[-1], _FILE_FLAGS, dir_fd=dfd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a link (or one a moment ago): resolve, try again
                return (len(parts) - 1,)
            if exc.errno == errno.ENOENT and _is_link(parts[-1], dfd):
                raise TaskFileError("broken symbolic link") from None
            raise
    finally:
        os.close(dfd)


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _safe_parts(relpath: str) -> list[str]:
    parts = [p for p in relpath.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or relpath.startswith("/"):
        raise TaskFileError("not a path inside the collaboration directory")
    return parts


def _inside(root_real: str, path: str) -> bool:
    return path.startswith(root_real.rstrip(os.sep) + os.sep)


def _check_inside(root_real: str, fd: int) -> None:
    # Belt and braces: where the kernel says the open file lives (Linux).
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return
    if not _inside(root_real, where):
        os.close(fd)
        raise TaskFileError("symbolic link points outside the collaboration directory")


def _read_fd(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(256 * 1024, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_text(text: str) -> dict[str, Any]:
    try:
        data = load_yaml(text)
    except TaskFileError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TaskFileError(f"invalid YAML: {exc.problem or exc.context}{where}") from None
    except yaml.YAMLError as exc:
        raise TaskFileError(f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise TaskFileError("invalid YAML: nested too deeply") from None
    if data is None:
        raise TaskFileError("empty file")
    if not isinstance(data, dict):
        raise TaskFileError(f"not a task: the YAML is a {_kind(data)}, not a mapping")
    return data


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def build_task(relpath: str, data: dict[str, Any], updated_at: float) -> Task:
    where = classify(relpath)
    if where is None:  # pragma: no cover - callers classify first
        raise ValueError(f"{relpath} is not a task path")
    lane, folder_agent = where
    raw_agent = _text(data.get("agent"))
    agent = folder_agent or raw_agent or UNASSIGNED
    raw_id = _text(data.get("id"))
    title = _text(data.get("title"))
    return Task(
        id=raw_id or PurePosixPath(relpath).stem,
        path=relpath,
        lane=lane,
        agent=agent,
        title=_shorten(title, MAX_TITLE_CHARS) or "(untitled task)",
        priority=normalise_priority(data.get("priority")),
        status=_text(data.get("status")).lower().replace("-", "_").replace(" ", "_"),
        estimated_hours=_hours(data.get("estimated_hours", data.get("estimated_effort_hours"))),
        dependencies=parse_dependencies(data.get("dependencies")),
        updated_at=updated_at,
        data=data,
        has_title=bool(title),
        has_agent=bool(folder_agent or raw_agent),
    )


def parse_file(root: Path, relpath: str) -> Task | Problem:
    """One file, read and parsed; never raises for a bad file."""
    try:
        text, st = read_task_file(root, relpath)
        data = parse_text(text)
    except TaskFileError as exc:
        return Problem(relpath, str(exc), exc.transient)
    return build_task(relpath, data, changed_at(st))


def changed_at(st: os.stat_result) -> float:
    # `mv` keeps the mtime but updates the ctime: a card that just moved counts as fresh.
    return max(st.st_mtime, st.st_ctime)


def normalise_priority(value: Any) -> str:
    text = _text(value).strip()
    if not text:
        return "normal"
    lowered = text.lower()
    return lowered if lowered in KNOWN_PRIORITIES else text


def parse_dependencies(value: Any) -> tuple[Dependency, ...]:
    """Every dependency shape seen in real files.

    A list of ids; a list of `{task_id, type, description}`; or a mapping of lists, where
    the key is the kind (`prerequisites: [...]`) and items are ids or free text.
    """
    if value is None or value == "":
        return ()
    if isinstance(value, (str, int, float)):
        return (Dependency(str(value)),)
    if isinstance(value, dict):
        deps: list[Dependency] = []
        for key, items in value.items():
            for item in items if isinstance(items, list) else [items]:
                text = _text(item)
                if isinstance(item, dict):
                    deps.extend(parse_dependencies([item]))
                elif text:
                    deps.append(_id_or_note(text, str(key)))
        return tuple(deps)
    if isinstance(value, list):
        deps = []
        for item in value:
            if isinstance(item, dict):
                task_id = _text(item.get("task_id") or item.get("id")) or None
                deps.append(
                    Dependency(task_id, _text(item.get("type")), _text(item.get("description")))
                )
            elif _text(item):
                deps.append(_id_or_note(_text(item), ""))
        return tuple(deps)
    return ()


def _id_or_note(text: str, kind: str) -> Dependency:
    # Real files mix ids with prose ("DDR-011 (completed)") and paths ("docs/adr/ADR-04.md"):
    # those are notes. An id that does hold a space still links: see Board.dependency_target.
    if any(ch.isspace() for ch in text) or "/" in text:
        return Dependency(None, kind, text)
    return Dependency(text, kind)


def _hours(value: Any) -> str | float | int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    return text or None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (int, float, bool)):
        return str(value)
    return ""


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value
