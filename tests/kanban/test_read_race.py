"""The task reader against files swapped under it (security review findings 2 and 3).

An agent that can write into the collab dir swaps a task file for a symlink to a file
outside the tree, or for a FIFO, as fast as it can while the dashboard reads. Nothing from
outside may ever come back, and no read may block.
"""

import os
import threading
import time

import pytest

from kanban.tasks import TaskFileError, parse_file, read_task_file

from ..factories import write_text

RACE_SECONDS = 1.5
READ_TIMEOUT = 2.0


class Swapper(threading.Thread):
    """Renames a regular file and something else over `inbox/race.yaml`, in turns."""

    def __init__(self, collab, make_other):
        super().__init__(daemon=True)
        self.inbox = collab / "inbox"
        self.make_other = make_other
        self.stop = threading.Event()
        self.swaps = 0

    def run(self):
        reg, other, name = self.inbox / ".reg", self.inbox / ".other", self.inbox / "race.yaml"
        while not self.stop.is_set():
            reg.write_text(f"id: race\ntitle: harmless {self.swaps}\n")
            os.rename(reg, name)
            if os.path.lexists(other):
                os.remove(other)
            self.make_other(other)
            os.rename(other, name)
            self.swaps += 1


def read_in_thread(fn):
    """fn() in a thread: its result, or a failure if it does not come back in time."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except TaskFileError as exc:
            box["error"] = str(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(READ_TIMEOUT)
    assert not worker.is_alive(), "a read blocked (a FIFO opened without O_NONBLOCK?)"
    return box


def race(collab, make_other, read):
    swapper = Swapper(collab, make_other)
    swapper.start()
    outcomes = []
    deadline = time.monotonic() + RACE_SECONDS
    try:
        while time.monotonic() < deadline:
            outcomes.append(read_in_thread(read))
    finally:
        swapper.stop.set()
        swapper.join(READ_TIMEOUT)
    assert swapper.swaps > 100, "the race did not really run"
    return outcomes


@pytest.fixture
def secret(tmp_path):
    return write_text(tmp_path / "outside", "id_rsa.yaml", "id: secret\ntitle: PRIVATE KEY\n")


def test_a_symlink_swapped_in_never_leaks_a_file_from_outside(collab, secret):
    outcomes = race(
        collab,
        lambda p: os.symlink(secret, p),
        lambda: read_task_file(collab, "inbox/race.yaml")[0],
    )
    texts = [o["value"] for o in outcomes if "value" in o]
    errors = {o["error"] for o in outcomes if "error" in o}
    assert texts, "the harmless file was never read"
    assert not [t for t in texts if "PRIVATE KEY" in t]
    assert errors <= {
        "symbolic link points outside the collaboration directory",
        "cannot be read: No such file or directory",
        "too many levels of symbolic links",
    }


def test_a_symlinked_folder_swapped_in_never_leaks_a_file_from_outside(collab, secret):
    # The race one level up: `inbox/sub` flips between a folder and a link to outside.
    (secret.parent / "race.yaml").write_text("id: secret\ntitle: PRIVATE KEY\n")
    inside = collab / "inbox" / "real"
    write_text(inside, "race.yaml", "id: race\ntitle: harmless\n")
    stop = threading.Event()

    def flip():
        while not stop.is_set():
            os.symlink(secret.parent, collab / "inbox" / ".l")
            os.rename(collab / "inbox" / ".l", collab / "inbox" / "sub")
            os.symlink(inside, collab / "inbox" / ".l")
            os.rename(collab / "inbox" / ".l", collab / "inbox" / "sub")

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    try:
        deadline = time.monotonic() + RACE_SECONDS
        seen = []
        while time.monotonic() < deadline:
            seen.append(read_in_thread(lambda: read_task_file(collab, "inbox/sub/race.yaml")[0]))
    finally:
        stop.set()
        flipper.join(READ_TIMEOUT)
    assert any("value" in o for o in seen)
    assert not [o for o in seen if "PRIVATE KEY" in o.get("value", "")]


def test_a_fifo_swapped_in_never_blocks_the_reader(collab):
    outcomes = race(
        collab,
        os.mkfifo,
        lambda: parse_file(collab, "inbox/race.yaml"),
    )
    results = [o["value"] for o in outcomes]
    assert {type(r).__name__ for r in results} <= {"Task", "Problem"}
    assert any(getattr(r, "error", "") == "not a regular file" for r in results)
    assert any(getattr(r, "id", "") == "race" for r in results)


def test_links_inside_the_tree_are_still_followed_through_files_and_folders(collab):
    write_text(collab, "done/a/real.yaml", "id: real\n")
    os.symlink(collab / "done" / "a" / "real.yaml", collab / "inbox" / "one.yaml")
    os.symlink("one.yaml", collab / "inbox" / "two.yaml")  # a chain of two links
    os.symlink(collab / "done" / "a", collab / "inbox" / "folder")
    for relpath in ("inbox/one.yaml", "inbox/two.yaml", "inbox/folder/real.yaml"):
        assert read_task_file(collab, relpath)[0] == "id: real\n"


def test_a_link_loop_and_a_path_with_dot_dot_are_refused(collab, secret):
    os.symlink("b.yaml", collab / "inbox" / "a.yaml")
    os.symlink("a.yaml", collab / "inbox" / "b.yaml")
    with pytest.raises(TaskFileError, match="symbolic links"):
        read_task_file(collab, "inbox/a.yaml")
    with pytest.raises(TaskFileError, match="not a path inside"):
        read_task_file(collab, "inbox/../../outside/id_rsa.yaml")
