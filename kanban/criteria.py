"""Acceptance-criteria progress ("2/5") from the shapes real task files use.

Criteria come as a list of strings (`"✅ Schemas enforce ..."`), a Markdown text of task-list
items (`- [x] done`), a list of mappings (`{text, done: true}`, `{"criterion": true}`,
`{description, status: met}`) or a mapping of such lists per section. Only items that say
whether they are met count as progress: a plain list of wishes has no "2 of 5". Pure Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FIELDS = ("acceptance_criteria", "success_criteria")
_CHECKBOX = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*\[([ xX✓✔])\]")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")
_DONE_MARKS = ("✅", "✔", "✓", "☑", "[x]", "[X]")
_OPEN_MARKS = ("❌", "☐", "⬜", "[ ]")
_DONE_WORDS = frozenset({"done", "met", "passed", "pass", "complete", "completed", "ok", "yes"})
_FLAG_KEYS = ("done", "checked", "completed", "met", "passed")
MAX_ITEMS = 1000  # a pathological file must not make a card slow


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def label(self) -> str:
        return f"{self.done}/{self.total}"


def criteria_progress(data: Mapping[str, Any]) -> Progress | None:
    """Met and total criteria, or None when the task has none that say whether they are met."""
    items: list[bool | None] = []
    for name in FIELDS:
        if name in data:
            _collect(data[name], items, depth=0)
    tracked = [i for i in items if i is not None]
    if not tracked:
        return None
    return Progress(sum(1 for i in tracked if i), len(tracked))


def _collect(value: Any, items: list[bool | None], depth: int) -> None:
    if len(items) >= MAX_ITEMS or depth > 4:
        return
    if isinstance(value, str):
        items.extend(_from_text(value))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (Mapping, list)):
                _collect_item(item, items, depth + 1)
            elif isinstance(item, str):
                items.append(_line_state(item))
            elif item is not None:
                items.append(None)
    elif isinstance(value, Mapping):  # sections: {Backend: [...], Frontend: [...]}
        for inner in value.values():
            _collect(inner, items, depth + 1)


def _collect_item(item: Any, items: list[bool | None], depth: int) -> None:
    if isinstance(item, list):
        _collect(item, items, depth)
        return
    for key in _FLAG_KEYS:
        if isinstance(item.get(key), bool):
            items.append(item[key])
            return
    status = item.get("status")
    if isinstance(status, str):
        items.append(status.strip().lower() in _DONE_WORDS)
        return
    if len(item) == 1:  # {"criterion text": true} or a stray colon: {"text (default": "x)"}
        only = next(iter(item.values()))
        items.append(only if isinstance(only, bool) else None)
        return
    items.append(None)


def _from_text(text: str) -> list[bool | None]:
    lines = text.splitlines()
    boxes = [m.group(1) for line in lines if (m := _CHECKBOX.match(line))]
    if boxes:
        return [box != " " for box in boxes]
    bullets = [line for line in lines if _BULLET.match(line)]
    if bullets:
        return [_line_state(line) for line in bullets]
    return [_line_state(text)] if text.strip() else []


def _line_state(text: str) -> bool | None:
    stripped = text.strip().lstrip("-*+ ").strip()
    if stripped.startswith(_DONE_MARKS) or stripped.endswith(("✅", "✔")):
        return True
    if stripped.startswith(_OPEN_MARKS):
        return False
    return None
