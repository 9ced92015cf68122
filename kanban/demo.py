"""`rundashboard --demo`: a throwaway workspace shaped like a real one, and agents at work in it.

Everything lives in a temporary directory the command removes on exit; the simulator plays
the agents' part (they write the task files), never the dashboard's.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import sqlite3
import threading
import uuid
from pathlib import Path

import yaml

from telemetry.schema import LLM_DDL

log = logging.getLogger(__name__)

AGENTS = ["backend-dev", "architect", "python-pedro", "frontend", "curator", "writer-editor"]
MODELS = [("claude-sonnet-4", 3.0, 15.0), ("gpt-4o", 2.5, 10.0), ("claude-haiku", 0.8, 4.0)]
TOOLS = ["claude-code", "cursor", "aider"]
TOPICS = [
    "Parse agent profiles",
    "Add export endpoint",
    "Write ADR for caching",
    "Refactor model router",
    "Document the task lifecycle",
    "Validate schema files",
    "Speed up the test suite",
    "Review prompt templates",
    "Design retry policy",
    "Fix flaky watcher test",
]


def _task(task_id: str, agent: str, status: str, title: str, **extra: object) -> dict[str, object]:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    data: dict[str, object] = {
        "id": task_id,
        "agent": agent,
        "status": status,
        "priority": random.choice(["high", "medium", "normal", "HIGH", "low", "critical"]),
        "title": title,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "estimated_hours": random.choice([1, 2, 3.5, "1-2", "4-6"]),
        "description": (
            f"**{title}.**\n\nSteps:\n\n- read the current code\n- make the change\n- add tests\n"
        ),
        "context": {"milestone": "M5", "notes": "Seeded by the demo."},
        "acceptance_criteria": ["Tests pass", "Docs updated", "Reviewed"],
    }
    data.update(extra)
    return data


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    os.replace(tmp, path)  # like a careful agent: never a half-written file


def create_workspace(base: Path) -> tuple[Path, Path]:
    rng = random.Random(7)
    collab = base / "work" / "collaboration"
    for lane in ("inbox", "assigned", "done", "archive"):
        (collab / lane).mkdir(parents=True, exist_ok=True)
    stamp = "2026-02-10T09"
    n = 0

    def next_id(agent: str, topic: str) -> str:
        nonlocal n
        n += 1
        return f"{stamp}{n:02d}-{agent}-{topic.lower().replace(' ', '-')}"

    first = next_id("architect", "Design the task schema")
    _write(
        collab / "done" / "architect" / f"{first}.yaml",
        _task(
            first,
            "architect",
            "done",
            "Design the task schema",
            completed_at="2026-02-10T10:00:00Z",
        ),
    )
    for i in range(12):
        agent = AGENTS[i % len(AGENTS)]
        topic = TOPICS[i % len(TOPICS)]
        task_id = next_id(agent, topic)
        lane = ["inbox", "assigned", "assigned", "done"][i % 4]
        status = {"inbox": "new", "assigned": "assigned", "done": "done"}[lane]
        extra: dict[str, object] = {}
        if i % 3 == 0:
            extra["dependencies"] = [first]
        elif i % 3 == 1:
            extra["dependencies"] = [
                {"task_id": first, "type": "prerequisite", "description": "Schema first"}
            ]
        if i == 5:
            status = "in_progress"
        if i == 6:
            status = "blocked"
        folder = collab / lane if lane == "inbox" else collab / lane / agent
        _write(folder / f"{task_id}.yaml", _task(task_id, agent, status, topic, **extra))
    (collab / "inbox" / "2026-02-10T0999-broken-handoff.yaml").write_text(
        "id: broken-handoff\ntitle: [unclosed\n  status: new\n", encoding="utf-8"
    )
    db = base / "telemetry.db"
    create_telemetry_db(db, rows=120, rng=rng)
    return collab, db


def create_telemetry_db(path: Path, rows: int, rng: random.Random) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(LLM_DDL)
        now = dt.datetime.now(dt.timezone.utc)
        for _ in range(rows):
            when = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 20))
            con.execute(*_invocation(when, rng))
        con.commit()
    finally:
        con.close()


def _invocation(when: dt.datetime, rng: random.Random) -> tuple[str, tuple[object, ...]]:
    model, p_in, p_out = rng.choice(MODELS)
    prompt, completion = rng.randint(200, 4000), rng.randint(50, 1500)
    cost = (prompt * p_in + completion * p_out) / 1_000_000
    status = "success" if rng.random() > 0.06 else "error"
    return (
        "INSERT INTO invocations (invocation_id, timestamp, agent_name, tool_name, model_name, "
        "prompt_tokens, completion_tokens, total_tokens, cost_usd, latency_ms, status, "
        "error_message, privacy_level) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            str(uuid.UUID(int=rng.getrandbits(128))),
            when.isoformat(),
            rng.choice(AGENTS),
            rng.choice(TOOLS),
            model,
            prompt,
            completion,
            prompt + completion,
            round(cost, 6),
            rng.randint(300, 9000),
            status,
            "rate limited" if status == "error" else None,
            "internal",
        ),
    )


VERBS = [
    "Parse",
    "Add",
    "Write",
    "Refactor",
    "Document",
    "Validate",
    "Speed up",
    "Review",
    "Design",
    "Fix",
    "Benchmark",
    "Harden",
    "Profile",
    "Simplify",
    "Migrate",
    "Test",
]
OBJECTS = [
    "agent profiles",
    "the export endpoint",
    "the caching ADR",
    "the model router",
    "the task lifecycle",
    "schema files",
    "the test suite",
    "prompt templates",
    "the retry policy",
    "the watcher",
    "cost reports",
    "the routing table",
    "token budgets",
    "the handoff format",
    "the MCP registry",
    "error messages",
    "the release notes",
    "the CLI help",
    "log rotation",
    "the dependency graph",
]

# The board a visitor should see at any moment: a few tasks waiting, several in flight, and
# finished work that is archived (as real teams do) so Done does not swallow the board.
TARGET_INBOX = 5
TARGET_ASSIGNED = 8
MAX_DONE = 24


def create_mcp_config(base: Path) -> Path:
    """Tiny MCP servers written with the SDK (healthy, slow, flaky), managed by the dashboard."""
    from mcp_servers.demo import demo_config

    return demo_config(base)


class Simulator:
    """Agents at work in a steady state: tasks keep arriving, moving and finishing.

    Each step picks what the board needs most (new work when the inbox runs low, an
    assignment when it fills up, progress on assigned work, archiving old Done cards), with
    some randomness, so the demo looks alive for as long as it runs instead of drifting
    into an all-Done board.
    """

    def __init__(self, collab: Path, telemetry_db: Path, interval: float = 2.0) -> None:
        self.collab = collab
        self.telemetry_db = telemetry_db
        self.interval = interval
        self.rng = random.Random()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-simulator", daemon=True)
        self._broken: list[tuple[Path, str]] = []
        self._titles_used: set[str] = set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval * self.rng.uniform(0.6, 1.4)):
            try:
                self.step()
            except Exception:
                log.exception("demo simulator step failed")

    def _tasks(self, lane: str) -> list[Path]:
        return sorted(p for p in (self.collab / lane).rglob("*.yaml") if "broken" not in p.name)

    def step(self) -> None:
        if self._broken:
            path, text = self._broken.pop()
            if path.exists():
                path.write_text(text, encoding="utf-8")  # the agent fixes its file
            return
        inbox, assigned = len(self._tasks("inbox")), len(self._tasks("assigned"))
        actions = [self.create, self.assign, self.start_one, self.complete, self.break_one]
        weights = [
            1 + 2 * max(0, TARGET_INBOX - inbox),
            (1 + 2 * max(0, inbox - TARGET_INBOX // 2)) if inbox else 0,
            2 if assigned else 0,
            (1 + max(0, assigned - TARGET_ASSIGNED // 2)) if assigned else 0,
            0.3 if assigned else 0,
        ]
        self.rng.choices(actions, weights)[0]()
        self.archive_old()
        self.spend()

    def title(self) -> str:
        for _ in range(50):
            title = f"{self.rng.choice(VERBS)} {self.rng.choice(OBJECTS)}"
            if title not in self._titles_used:
                break
        else:  # every pairing used: number them from here on
            title = f"{title} (part {len(self._titles_used)})"
        self._titles_used.add(title)
        return title

    def create(self) -> None:
        agent = self.rng.choice(AGENTS)
        stamp = dt.datetime.now().strftime("%Y-%m-%dT%H%M%S")
        topic = self.title()
        task_id = f"{stamp}-{agent}-{topic.lower().replace(' ', '-')}"
        _write(self.collab / "inbox" / f"{task_id}.yaml", _task(task_id, agent, "new", topic))

    def assign(self) -> None:
        candidates = self._tasks("inbox")
        if not candidates:
            return self.create()
        path = self.rng.choice(candidates)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        agent = data.get("agent") or self.rng.choice(AGENTS)
        data["status"] = "assigned"
        data["assigned_at"] = _now_text()
        target = self.collab / "assigned" / agent / path.name
        _write(path, data)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)

    def start_one(self) -> None:
        waiting = [p for p in self._tasks("assigned") if self._status(p) != "in_progress"]
        if not waiting:
            return self.complete()
        path = self.rng.choice(waiting)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        data["status"] = "in_progress"
        data["started_at"] = _now_text()
        _write(path, data)

    def complete(self) -> None:
        assigned = self._tasks("assigned")
        if not assigned:
            return self.assign()
        # Work in progress finishes first, as it would.
        started = [p for p in assigned if self._status(p) == "in_progress"]
        path = self.rng.choice(started or assigned)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        data["status"] = "done"
        data["completed_at"] = _now_text()
        _write(path, data)
        target = self.collab / "done" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)

    def archive_old(self) -> None:
        done = self._tasks("done")
        if len(done) <= MAX_DONE:
            return
        oldest = min(done, key=lambda p: p.stat().st_mtime)
        target = self.collab / "archive" / oldest.parent.name / oldest.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(oldest, target)

    def break_one(self) -> None:
        assigned = self._tasks("assigned")
        if not assigned:
            return
        path = self.rng.choice(assigned)
        text = path.read_text(encoding="utf-8")
        self._broken.append((path, text))
        path.write_text(text + "\nstatus: [oops\n", encoding="utf-8")

    def _status(self, path: Path) -> str:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return ""
        return str(data.get("status", "")) if isinstance(data, dict) else ""

    def spend(self) -> None:
        con = sqlite3.connect(self.telemetry_db, timeout=5)
        try:
            for _ in range(self.rng.randint(1, 3)):
                con.execute(*_invocation(dt.datetime.now(dt.timezone.utc), self.rng))
            con.commit()
        finally:
            con.close()


def _now_text() -> str:
    return (
        dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )
