"""Task trees for tests, in every shape the real corpus has (written fresh, not copied)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "work" / "collaboration"


def write_task(root: Path, relpath: str, **fields: Any) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(fields, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def write_text(root: Path, relpath: str, text: str | bytes) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def move(root: Path, src: str, dest: str) -> None:
    (root / dest).parent.mkdir(parents=True, exist_ok=True)
    os.rename(root / src, root / dest)


def corpus_like_tree(root: Path) -> Path:
    """A small tree with each shape seen in real task files; returns the collab dir.

    3 inbox cards (+1 malformed), 4 assigned (2 agents + one loose file), 3 done.
    """
    collab = root / "work" / "collaboration"
    # inbox: plain task, dependency dicts, a `.yml` file, and one broken alias
    write_task(
        collab,
        "inbox/2026-02-13T1002-query-facade.yaml",
        id="2026-02-13T1002-query-facade",
        agent="backend-dev",
        status="new",
        priority="HIGH",
        title="Query service facade",
        created_at="2026-02-13T10:02:00Z",
        dependencies=[
            {
                "type": "prerequisite",
                "task_id": "2026-02-11T1100-parsers",
                "description": "Parsers first",
            },
            {"type": "parallel", "description": "Can run alongside the docs work"},
        ],
        description="Build a **facade**.\n\n- [ ] design\n- [x] spike\n",
        estimated_hours="4-6",
    )
    write_text(
        collab,
        "inbox/2025-11-23T2134-issue-type.yml",
        "id: 2025-11-23T2134-issue-type\nagent: curator\nstatus: new\npriority: medium\n"
        "title: Add an issue type\ncreated: 2025-11-23T21:34:00Z\n",
    )
    write_task(
        collab,
        "inbox/2026-02-12T1101-roadmap.yaml",
        id="2026-02-12T1101-roadmap",
        status="new",
        priority="normal",
        context="Plain text context, not a mapping.",
    )
    write_text(
        collab,
        "inbox/2026-02-12T1102-broken.yaml",
        "id: broken\ntitle: Broken\nrequirements:\n  - Assign:\n        * Phase 1\n",
    )
    # assigned: list of ids, mapping of lists, estimated hours as float, odd statuses
    write_task(
        collab,
        "assigned/python-pedro/2026-02-11T1100-parsers.yaml",
        id="2026-02-11T1100-parsers",
        agent="python-pedro",
        status="in_progress",
        priority="critical",
        title="Parsers",
        estimated_hours=3.5,
        dependencies=["2026-02-11T1100-models"],
        context={"background": "Multi\nline", "milestone": "M5.1", "files": ["a.py", "b.py"]},
    )
    write_task(
        collab,
        "assigned/python-pedro/2026-02-11T1100-models.yaml",
        id="2026-02-11T1100-models",
        agent="python-pedro",
        status="assigned",
        priority="LOW",
        title="Domain models",
        estimated_hours=2,
    )
    write_task(
        collab,
        "assigned/architect/mfd-task-1.3-schema.yaml",
        id="mfd-task-1.3-schema-conventions",
        agent="architect",
        status="blocked",
        priority="high",
        title="Schema conventions",
        dependencies={
            "prerequisites": ["Hugo installed locally", "mfd-task-1.2"],
            "related_work": ["ADR-022"],
        },
    )
    write_task(
        collab,
        "assigned/loose-task.yaml",
        id="loose-task",
        agent="scribe",
        status="assigned",
        title="A file directly under assigned/",
    )
    # done: status disagreeing with the lane, result mapping, nested folder
    write_task(
        collab,
        "done/backend-dev/2026-02-04T1700-config-schema.yaml",
        id="2026-02-04T1700-config-schema",
        agent="backend-dev",
        status="assigned",
        priority="medium",
        title="Config schema",
        result={"summary": "Done", "artefacts": ["x.py"]},
    )
    write_task(
        collab,
        "done/backend-dev/2026/02/2026-02-05T0900-adapter.yaml",
        id="2026-02-05T0900-adapter",
        agent="backend-dev",
        status="done",
        title="Adapter",
        acceptance_criteria=["Works", "Tested"],
    )
    write_task(
        collab,
        "done/curator/dist002-task-3.2-cleanup.yaml",
        id="dist002-task-3.2-cleanup",
        agent="curator",
        status="done",
        title="Cleanup",
    )
    # ignored: archive, fridge, backups, Markdown, hidden and editor files
    write_task(collab, "archive/2025-11/old.yaml", id="old", title="Archived")
    write_task(collab, "fridge/later/cold.yaml", id="cold", title="In the fridge")
    write_task(collab, "backups/2026-02-08/architect/copy.yaml", id="copy", title="Backup")
    write_text(collab, "inbox/README.md", "# notes\n")
    write_text(collab, "inbox/.hidden.yaml", "id: hidden\n")
    write_text(collab, "inbox/draft.yaml~", "id: backup\n")
    write_text(collab, "inbox/.draft.yaml.swp", "junk")
    return collab
