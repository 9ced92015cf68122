"""Write a task tree of N YAML files shaped like the real corpus, for benchmarks and tests.

    python bench/gen_tasks.py --tasks 10000 --out /tmp/board --agents 12 --done-share 0.7

Files land in `inbox/`, `assigned/<agent>/` and `done/<agent>/` (a few done ones one or two
folders deeper, as archived months are). They vary the way real files do: `id` present or
not, `created_at` or `created`, quoted or not, `priority` in any case, `estimated_hours` as
a number or text, `dependencies` as a list of ids, a list of `{task_id, type, description}`
or a mapping of lists, a multi-line Markdown description and a `context` mapping.
Deterministic for a given seed. Importable: `generate(out, tasks, agents, done_share, seed)`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

AGENT_NAMES = [
    "backend-dev", "frontend", "architect", "python-pedro", "code-reviewer-cindy", "analyst-annie",
    "devops-danny", "writer-editor", "curator-claire", "planning-petra", "researcher", "scribe",
    "build-automation", "frontend-freddy", "architect-alphonso", "synthesizer", "diagrammer",
    "manager-mike", "bootstrap-bill", "lexical",
]  # fmt: skip
VERBS = [
    "Implement", "Refactor", "Document", "Validate", "Review", "Design", "Migrate", "Benchmark",
    "Fix", "Add tests for", "Prototype", "Clean up", "Assess", "Specify", "Integrate",
]  # fmt: skip
THINGS = [
    "task assignment router", "telemetry exporter", "dashboard Kanban lane",
    "YAML schema validator",
    "model cost tracker", "agent profile loader", "directive index", "ADR template",
    "WebSocket reconnect logic", "template renderer", "query service facade", "JSONL event writer",
    "glossary terms", "persona workflows", "build pipeline", "docsite integration",
    "orphan task modal", "priority sorting", "dependency graph", "rate limiter",
]  # fmt: skip
PRIORITIES = ["critical", "high", "medium", "normal", "low", "HIGH", "MEDIUM", "Low", "CRITICAL"]
STATUSES = {
    "inbox": ["new", "inbox", "pending"],
    "assigned": ["assigned", "in_progress", "in_progress", "blocked", "assigned"],
    "done": ["done", "done", "completed", "done", "error"],
}
DEP_TYPES = ["prerequisite", "synergy", "parallel", "informs"]
STAR_SHARE = 40 / 118  # files with a `*` in the real corpus
BASE_TIME = datetime(2026, 2, 14, 12, 0, tzinfo=timezone.utc)


_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def agent_names(count: int) -> list[str]:
    names = AGENT_NAMES[:count]
    names += [f"agent-{i:02d}" for i in range(len(names), count)]
    return names


def _lanes(tasks: int, done_share: float, rng: random.Random) -> list[str]:
    done = round(tasks * done_share)
    rest = tasks - done
    inbox = rest // 3
    lanes = ["done"] * done + ["inbox"] * inbox + ["assigned"] * (rest - inbox)
    rng.shuffle(lanes)
    return lanes


def _description(rng: random.Random, title: str) -> str:
    steps = rng.randint(2, 6)
    # About a third of the real corpus has a `*` (emphasis, bullets, globs); so do we.
    thing = rng.choice(THINGS)
    if rng.random() < STAR_SHARE:
        thing = f"**{thing}**"
    lines = [
        f"## Goal\n\n{title}. This keeps the {thing} consistent with "
        f"`{rng.choice(['ADR-032', 'ADR-026', 'DDR-011', 'SPEC-TERM-001'])}`.",
        "",
        "## Steps",
        "",
    ]
    lines += [f"{i}. {rng.choice(VERBS)} the {rng.choice(THINGS)}" for i in range(1, steps + 1)]
    lines += [
        "",
        "## Acceptance",
        "",
        *[
            f"- [ ] {rng.choice(VERBS)} {rng.choice(THINGS)} (<{rng.randint(1, 50)} ms)"
            for _ in range(rng.randint(1, 4))
        ],
        "",
        "See [the spec](specifications/llm-dashboard/real-time-execution-dashboard.md).",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _dependencies(rng: random.Random, earlier: list[str]) -> Any:
    shape = rng.random()
    if shape < 0.35 or not earlier:
        return []
    picks = rng.sample(earlier[-200:], min(len(earlier[-200:]), rng.randint(1, 3)))
    if shape < 0.6:
        return picks  # a list of ids
    if shape < 0.85:
        return [
            {
                "type": rng.choice(DEP_TYPES),
                "task_id": p,
                "description": f"{rng.choice(VERBS)} first",
            }
            for p in picks
        ]
    return {"requires": picks[:1], "blocks": picks[1:]}  # a mapping of lists


def _task(
    rng: random.Random, i: int, agent: str, lane: str, earlier: list[str]
) -> tuple[str, dict[str, Any]]:
    created = BASE_TIME - timedelta(minutes=rng.randint(0, 90 * 24 * 60))
    title = f"{rng.choice(VERBS)} {rng.choice(THINGS)}"
    slug = title.lower().replace(" ", "-")
    stem = f"{created:%Y-%m-%dT%H%M}-{agent}-{slug}-{i:05d}"
    data: dict[str, Any] = {}
    if rng.random() < 0.92:
        data["id"] = stem
    data["title"] = title
    data["agent"] = agent
    data["status"] = rng.choice(STATUSES[lane])
    data["priority"] = rng.choice(PRIORITIES)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    if rng.random() < 0.8:
        data["created_at"] = stamp
    else:
        data["created"] = created  # a YAML timestamp
    data["created_by"] = rng.choice(["orchestrator", "coordinator", "manager-mike"])
    hours = rng.random()
    if hours < 0.6:
        data["estimated_hours"] = rng.choice([0.5, 1, 1.5, 2, 3, 4, 6, 8])
    elif hours < 0.85:
        low = rng.randint(1, 4)
        data["estimated_hours"] = f"{low}-{low + rng.randint(1, 3)}"
    data["dependencies"] = _dependencies(rng, earlier)
    data["description"] = _description(rng, title)
    data["context"] = {
        "background": (
            f"Follow-up of the {rng.choice(THINGS)} work.\nKeep the public interface stable.\n"
        ),
        "notes": [f"{rng.choice(VERBS)} {rng.choice(THINGS)}" for _ in range(rng.randint(0, 3))],
        "related_adrs": [f"docs/architecture/adrs/ADR-0{rng.randint(10, 45)}.md"],
    }
    data["artefacts"] = [f"src/llm_service/{slug.replace('-', '_')}.py"]
    if lane != "inbox":
        data["assigned_at"] = (created + timedelta(hours=rng.randint(1, 48))).isoformat()
    if lane == "done":
        data["result"] = {
            "status": "success" if data["status"] != "error" else "failure",
            "summary": f"{title}: done.\n- {rng.choice(VERBS)} {rng.choice(THINGS)}\n",
        }
    return stem, data


def generate(
    out: Path, tasks: int, agents: int = 12, done_share: float = 0.7, seed: int = 1
) -> None:
    """Write `tasks` task files under `out` (created if missing; existing files are kept)."""
    rng = random.Random(seed)
    out = Path(out)
    names = agent_names(agents)
    (out / "inbox").mkdir(parents=True, exist_ok=True)
    for name in names:
        (out / "assigned" / name).mkdir(parents=True, exist_ok=True)
        (out / "done" / name).mkdir(parents=True, exist_ok=True)
    earlier: list[str] = []
    now = time.time()
    for i, lane in enumerate(_lanes(tasks, done_share, rng)):
        agent = rng.choice(names)
        stem, data = _task(rng, i, agent, lane, earlier)
        earlier.append(data.get("id", stem))
        folder = out / lane if lane == "inbox" else out / lane / agent
        if lane == "done" and rng.random() < 0.05:
            folder = folder / "2025" / f"{rng.randint(10, 12):02d}"  # an archived month
            folder.mkdir(parents=True, exist_ok=True)
        suffix = ".yml" if rng.random() < 0.04 else ".yaml"
        text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        if rng.random() < 0.15:
            text = "---\n" + text
        path = folder / (stem + suffix)
        path.write_text(text, encoding="utf-8")
        stamp = now - rng.uniform(0, 60 * 86400)
        os.utime(path, (stamp, stamp))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, required=True, help="number of task files")
    parser.add_argument("--out", type=Path, required=True, help="collab dir to write into")
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--done-share", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.tasks < 0 or args.agents < 1 or not 0 <= args.done_share <= 1:
        parser.error("--tasks >= 0, --agents >= 1 and 0 <= --done-share <= 1")
    started = time.perf_counter()
    generate(args.out, args.tasks, args.agents, args.done_share, args.seed)
    print(f"wrote {args.tasks} tasks under {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
