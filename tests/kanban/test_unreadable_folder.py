"""An agent folder the dashboard cannot read (security review finding 12).

Tests run as root here, and root reads every folder whatever its mode: the watcher runs in
a real child process as the unprivileged user `nobody` instead (when we are root), on a real
tree whose agent folder that user owns and has made unreadable.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ..factories import REPO, write_task

NOBODY = 65534

CHILD = r"""
import json, os, sys, threading, time
from pathlib import Path
from kanban.watcher import BoardWatcher

root = Path(sys.argv[1])
boards, changed = [], threading.Condition()

def on_board(board, *_):
    with changed:
        boards.append(board)
        changed.notify_all()

def wait(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    with changed:
        while not (boards and predicate(boards[-1])):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            changed.wait(left)
        return boards[-1]

watcher = BoardWatcher(root, on_board)
watcher.start()
watcher.wait_ready(10)
first = wait(lambda b: True)
out = {
    "tasks_at_start": sorted(first.tasks),
    "problem_at_start": getattr(first.problems.get("assigned/bob/"), "error", None),
}
os.chmod(root / "assigned" / "bob", 0o755)  # readable again
out["old_task_back"] = wait(lambda b: "assigned/bob/old.yaml" in b.tasks) is not None
(root / "assigned" / "bob" / "new.yaml").write_text("id: new-in-bob\n")
out["new_task_seen"] = wait(lambda b: "assigned/bob/new.yaml" in b.tasks) is not None
out["problems_at_end"] = sorted(boards[-1].problems)
watcher.stop()
print(json.dumps(out))
"""


@pytest.fixture
def world_readable_tree():
    # pytest's tmp_path sits under a folder only root may enter.
    top = Path(tempfile.mkdtemp(prefix="unreadable-"))
    top.chmod(0o755)
    collab = top / "collab"
    write_task(collab, "inbox/a.yaml", id="a")
    write_task(collab, "assigned/bob/old.yaml", id="old-in-bob")
    for path in [collab, *collab.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield collab
    shutil.rmtree(top)


def test_an_unreadable_agent_folder_is_a_problem_until_it_is_readable_again(
    world_readable_tree,
):
    bob = world_readable_tree / "assigned" / "bob"
    root_user = os.geteuid() == 0
    if root_user:
        os.chown(bob, NOBODY, NOBODY)
    bob.chmod(0)
    command = [sys.executable, "-c", CHILD, str(world_readable_tree)]
    if root_user:
        setpriv = shutil.which("setpriv")  # util-linux
        if setpriv is None:
            pytest.skip("needs setpriv to run the watcher as an unprivileged user")
        command = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    result = subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["tasks_at_start"] == ["inbox/a.yaml"]
    assert out["problem_at_start"] == (
        "folder cannot be read (permission denied): its tasks are not shown"
    )
    assert out["old_task_back"], "the folder was not read again once readable"
    assert out["new_task_seen"], "new tasks in the folder are not watched"
    assert out["problems_at_end"] == []
