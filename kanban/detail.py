"""One task as the detail view shows it: every YAML field turned into display structures.

Pure Python, no Django: the template only walks `Value` trees, it never inspects raw YAML.
Markdown is rendered and sanitised here, so everything marked safe later has passed `nh3`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import markdown as md
import nh3
import yaml

from .board import Board
from .tasks import Task

# Fields written as prose by the agents: rendered as Markdown even when one line long.
MARKDOWN_KEYS = frozenset(
    {
        "description",
        "notes",
        "context",
        "acceptance_criteria",
        "success_criteria",
        "implementation_notes",
        "technical_notes",
        "technical_specifications",
        "work_log",
        "test_approach",
        "summary",
        "reason",
        "mvp_options",
        "scope",
    }
)
# Time keys beyond `*_at`: real files use these bare names too.
TIME_KEYS = frozenset({"created", "updated", "completed", "started", "assigned", "last_modified"})
# Shown in the header rather than the field list.
HEADER_KEYS = ("title", "id")
# Deep or huge values stop being laid out: a bounded page whatever the file holds.
MAX_DEPTH = 8
MAX_ITEMS = 200
MAX_TABLE_COLUMNS = 6
MAX_INLINE_TEXT = 120
MAX_RAW_INLINE = 64 * 1024
# Top-level fields laid out; a 60,000-key file must still render a small page fast.
MAX_FIELDS = 500
# Markdown may not make the viewer's browser fetch anything (tracking pixels, or same-origin
# GETs sent with the viewer's cookie): no <img>, the only auto-loading tag nh3 allows.
MARKDOWN_TAGS = frozenset(nh3.ALLOWED_TAGS) - {"img"}

_MD_HINT = re.compile(
    r"(\*\*|__|`|\]\(|^\s{0,3}#{1,6}\s|^\s*[-*+]\s|^\s*\d+[.)]\s|^\s*>|\[[ xX]\])", re.M
)
_LIST_LINE = re.compile(r"^\s{0,3}([-*+]|\d+[.)])\s")
_CHECK_ITEM = re.compile(r"<li>(\s*<p>)?\s*\[([ xX])\]\s*")
_CHECK_TEXT = re.compile(r"^\s*(?:[-*+]\s+)?\[([ xX])\]\s+(.*)$", re.S)
_HEADING = re.compile(r"<(/?)h([1-6])>")


@dataclass(frozen=True)
class Value:
    """A display node. `kind` picks the template branch; only the matching fields are set.

    text: plain text (`link` set when it names a known task); markdown: sanitised `html`;
    time: `ts` (epoch seconds) with the original `text`; scalar: numbers and booleans;
    empty; check: a checklist item (`done`, `items[0]`); list: `items`; mapping: `entries`;
    table: `columns` and `rows`; pre: preformatted `text` for what is too deep to lay out.
    """

    kind: str
    text: str = ""
    html: str = ""
    link: str = ""
    ts: float | None = None
    done: bool = False
    items: tuple[Value, ...] = ()
    entries: tuple[Entry, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Value, ...], ...] = ()
    more: int = 0  # items left out

    @property
    def block(self) -> bool:
        """Takes the full width rather than sitting beside its label."""
        return self.kind in ("markdown", "list", "mapping", "table", "pre")


@dataclass(frozen=True)
class Entry:
    key: str
    label: str
    value: Value


@dataclass(frozen=True)
class TaskRef:
    id: str
    title: str
    lane: str
    agent: str
    path: str
    status: str

    @classmethod
    def of(cls, task: Task) -> TaskRef:
        return cls(task.id, task.title, task.lane, task.agent, task.path, task.status)


@dataclass(frozen=True)
class DepView:
    task_id: str | None
    kind: str
    description: str
    state: str  # "done", "pending" (an unmet prerequisite), "unknown", or "note" (prose)
    targets: tuple[TaskRef, ...] = ()


@dataclass(frozen=True)
class TaskDetail:
    task: Task
    fields: tuple[Entry, ...]
    dependencies: tuple[DepView, ...]
    dependents: tuple[TaskRef, ...]
    unmet: tuple[str, ...]
    duplicate_paths: tuple[str, ...]  # the other files with this id
    more_fields: int = 0  # top-level fields left out
    raw: str = ""  # the file as it is on disk now
    raw_error: str = ""
    anchor: str = ""  # a prefix for element ids inside this section


@dataclass(frozen=True)
class DetailPage:
    task_id: str
    dom_id: str
    sections: tuple[TaskDetail, ...] = field(default=())

    @property
    def found(self) -> bool:
        return bool(self.sections)

    @property
    def title(self) -> str:
        # The whole title: cards and graph nodes show it cut short.
        return self.sections[0].task.full_title if self.sections else self.task_id


def detail_dom_id(task_id: str) -> str:
    # One id per task: a pushed update can only ever land in the modal showing that task.
    return "task-detail-" + hashlib.blake2s(task_id.encode(), digest_size=5).hexdigest()


def build_page(
    board: Board, task_id: str, read_raw: Callable[[str], tuple[str, str]] | None = None
) -> DetailPage:
    """Every file with this id; `read_raw(path) -> (text, error)` supplies the file's text."""
    tasks = sorted(board.by_id.get(task_id, []), key=lambda t: t.path)
    dom_id = detail_dom_id(task_id)
    sections = []
    for i, task in enumerate(tasks):
        raw, error = read_raw(task.path) if read_raw else ("", "")
        section = build_detail(board, task, raw, error)
        sections.append(replace(section, anchor=f"{dom_id}-{i}"))
    return DetailPage(task_id, dom_id, tuple(sections))


def build_detail(board: Board, task: Task, raw: str = "", raw_error: str = "") -> TaskDetail:
    known = board.by_id.keys()
    shown = [(str(k), v) for k, v in task.data.items() if not _in_header(str(k), v)]
    fields = tuple(
        Entry(key, label(key), to_value(value, key, known)) for key, value in shown[:MAX_FIELDS]
    )
    dependents: dict[str, TaskRef] = {}
    for other in board.dependents.get(task.id, []):
        dependents.setdefault(other.path, TaskRef.of(other))
    return TaskDetail(
        task=task,
        fields=fields,
        dependencies=tuple(dependency_views(board, task)),
        dependents=tuple(sorted(dependents.values(), key=lambda r: (r.id, r.path))),
        unmet=tuple(board.unmet_dependencies(task)),
        duplicate_paths=tuple(p for p in board.duplicate_ids.get(task.id, []) if p != task.path),
        more_fields=max(0, len(shown) - MAX_FIELDS),
        raw=raw if len(raw) <= MAX_RAW_INLINE else "",
        raw_error=raw_error or ("" if len(raw) <= MAX_RAW_INLINE else "too long to show here"),
    )


def _in_header(key: str, value: Any) -> bool:
    # The dependencies section shows `dependencies`; a title or id that is not plain text
    # (a mapping, say) is not in the header, so it stays in the field list.
    if key == "dependencies":
        return True
    return key in HEADER_KEYS and isinstance(value, (str, int, float, dt.date)) and bool(value)


def dependency_views(board: Board, task: Task) -> Iterable[DepView]:
    for dep in task.dependencies:
        target = board.dependency_target(dep)
        if target is None:
            yield DepView(None, dep.kind, dep.description, "note")
            continue
        found = tuple(
            TaskRef.of(t) for t in sorted(board.by_id.get(target, []), key=lambda t: t.path)
        )
        if not found:
            state = "unknown"
        elif any(t.lane == "done" for t in found):
            state = "done"
        else:
            state = "pending"
        description = "" if target == dep.description else dep.description
        yield DepView(target, dep.kind, description, state, found)


def label(key: str) -> str:
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else key


# --- values --------------------------------------------------------------------------------


def to_value(value: Any, key: str = "", known: Any = frozenset(), depth: int = 0) -> Value:
    """A YAML value as a display tree; `key` is the field it sits under (its meaning)."""
    if value is None or value == "" or value == [] or value == {}:
        return Value("empty")
    if isinstance(value, bool):
        return Value("scalar", text="yes" if value else "no")
    if isinstance(value, (dt.datetime, dt.date)):
        return time_value(value) or Value("text", text=str(value))
    if isinstance(value, (int, float)):
        return Value("scalar", text=_number(value))
    if isinstance(value, str):
        return string_value(value, key, known)
    if depth >= MAX_DEPTH:
        return Value("pre", text=_flat(value))
    if isinstance(value, dict):
        entries = [
            Entry(str(k), label(str(k)), to_value(v, str(k), known, depth + 1))
            for k, v in list(value.items())[:MAX_ITEMS]
        ]
        return Value("mapping", entries=tuple(entries), more=max(0, len(value) - MAX_ITEMS))
    if isinstance(value, list):
        shown = value[:MAX_ITEMS]
        more = max(0, len(value) - MAX_ITEMS)
        table = _table(shown, key, known, depth)
        if table is not None:
            return Value("table", columns=table[0], rows=table[1], more=more)
        items = tuple(to_value(v, key, known, depth + 1) for v in shown)
        return Value("list", items=items, more=more)
    return Value("text", text=str(value))


def string_value(text: str, key: str, known: Any) -> Value:
    stripped = text.strip()
    if not stripped:
        return Value("empty")
    if is_time_key(key):
        parsed = parse_time(stripped)
        if parsed is not None:
            return Value("time", text=stripped, ts=parsed)
    check = _CHECK_TEXT.match(stripped)
    if check and "\n" not in stripped:
        inner = string_value(check.group(2), "", known)
        return Value("check", done=check.group(1) != " ", items=(inner,))
    if key not in MARKDOWN_KEYS and looks_preformatted(text):
        return Value("pre", text=text.strip("\n"))
    if key in MARKDOWN_KEYS or looks_like_markdown(stripped):
        return Value("markdown", html=render_markdown(stripped))
    if stripped in known:
        return Value("text", text=stripped, link=stripped)
    return Value("text", text=stripped)


def _table(
    items: list[Any], key: str, known: Any, depth: int
) -> tuple[tuple[str, ...], tuple[tuple[Value, ...], ...]] | None:
    """A list of flat mappings (`{file, purpose}`, `{task_id, type}`) reads best as a table."""
    if len(items) < 2 or not all(isinstance(i, dict) and i for i in items):
        return None
    columns: list[str] = []
    for item in items:
        for k, v in item.items():
            if isinstance(v, (dict, list)) and v:
                return None
            if str(k) not in columns:
                columns.append(str(k))
    if len(columns) > MAX_TABLE_COLUMNS:
        return None
    rows = tuple(
        tuple(to_value(_get(item, c), c, known, depth + 1) for c in columns) for item in items
    )
    return tuple(columns), rows


def _get(item: dict[Any, Any], column: str) -> Any:
    for k, v in item.items():
        if str(k) == column:
            return v
    return None


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _flat(value: Any) -> str:
    try:
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100)
    except yaml.YAMLError:  # pragma: no cover - data came from safe_load
        return repr(value)


# --- time ----------------------------------------------------------------------------------


def is_time_key(key: str) -> bool:
    return key.endswith("_at") or key in TIME_KEYS


def time_value(value: dt.datetime | dt.date) -> Value | None:
    ts = _epoch(value)
    return Value("time", text=value.isoformat(), ts=ts) if ts is not None else None


def parse_time(text: str) -> float | None:
    """ISO 8601 with `T` or a space, with or without offset (none means UTC), or a date."""
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        moment: dt.datetime | dt.date = dt.datetime.fromisoformat(candidate)
    except ValueError:
        try:
            moment = dt.date.fromisoformat(candidate)
        except ValueError:
            return None
    return _epoch(moment)


def _epoch(value: dt.datetime | dt.date) -> float | None:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    try:
        # In UTC it must still be a datetime (years 1 to 9999), or no filter can show it.
        return value.astimezone(dt.timezone.utc).timestamp()
    except (OverflowError, OSError, ValueError):
        return None


# --- Markdown ------------------------------------------------------------------------------


def looks_like_markdown(text: str) -> bool:
    return "\n" in text or len(text) > MAX_INLINE_TEXT or bool(_MD_HINT.search(text))


def looks_preformatted(text: str) -> bool:
    """A file tree or aligned columns: its indentation means something Markdown would drop."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 3:
        return False
    if any(ch in text for ch in "├└│┌┐"):
        return True
    indented = [
        line for line in lines if line.startswith("  ") and not _LIST_LINE.match(line.lstrip())
    ]
    return len(indented) >= 2 and len(indented) * 3 >= len(lines)


def render_markdown(text: str) -> str:
    """Markdown to HTML that is safe to insert: no script, no on* attributes, no javascript:."""
    html = _converter().reset().convert(_separate_lists(text))
    clean = nh3.clean(
        html,
        tags=set(MARKDOWN_TAGS),
        link_rel="noopener noreferrer",
        url_schemes={"http", "https", "mailto"},
    )
    # The modal's title is an h2: headings inside a field start below it.
    clean = _HEADING.sub(lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + 2)}>", clean)
    # GitHub-style task lists (`- [x] done`), added after sanitising: only our fixed markup.
    return _CHECK_ITEM.sub(_checkbox, clean)


_local = threading.local()


def _converter() -> md.Markdown:
    # Building a Markdown instance costs more than converting a field; one per thread.
    conv: md.Markdown | None = getattr(_local, "converter", None)
    if conv is None:
        conv = md.Markdown(extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
        _local.converter = conv
    return conv


def _checkbox(match: re.Match[str]) -> str:
    done = match.group(2) != " "
    mark = (
        '<span class="checkbox" role="img" aria-label="done">☑</span> '
        if done
        else '<span class="checkbox" role="img" aria-label="not done">☐</span> '
    )
    return f'<li class="task-item{" is-done" if done else ""}">{match.group(1) or ""}{mark}'


def _separate_lists(text: str) -> str:
    """A list right after a paragraph line starts a list, as on GitHub (agents write it so)."""
    out: list[str] = []
    fenced = False
    previous = ""
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if (
            not fenced
            and _LIST_LINE.match(line)
            and previous.strip()
            and not _LIST_LINE.match(previous)
            and not previous.startswith((" ", "\t"))
        ):
            out.append("")
        out.append(line)
        previous = line
    return "\n".join(out)
