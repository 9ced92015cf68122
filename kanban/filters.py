"""Which cards a viewer asked to see: agent, priority, status and free text, from the URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from .tasks import Task


@dataclass(frozen=True)
class TaskFilter:
    agent: str = ""
    priority: str = ""
    status: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> TaskFilter:
        def get(name: str) -> str:
            return str(params.get(name, "") or "").strip()[:200]

        return cls(get("agent"), get("priority").lower(), get("status").lower(), get("q"))

    @property
    def active(self) -> bool:
        return bool(self.agent or self.priority or self.status or self.q)

    def matches(self, task: Task) -> bool:
        if self.agent and task.agent != self.agent:
            return False
        if self.priority and task.priority != self.priority:
            return False
        if self.status and task.status != self.status:
            return False
        if self.q:
            needle = self.q.casefold()
            haystack = " ".join((task.id, task.title, task.agent, task.path, task.status))
            if needle not in haystack.casefold() and needle not in _description(task):
                return False
        return True

    def query(self) -> str:
        pairs = [(k, v) for k, v in self.__dict__.items() if v]
        return urlencode(pairs)


def _description(task: Task) -> str:
    value = task.data.get("description")
    return value.casefold() if isinstance(value, str) else ""
