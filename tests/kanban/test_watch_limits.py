"""The watcher against hostile trees and lost events (security review findings 4, 10, 11).

Real trees on disk, a real inotify instance: a 1,500-deep folder chain, an inotify queue
really overflowed, file descriptors really exhausted.
"""

import errno
import os
import resource
import time

import pytest

from kanban.scanner import LIMIT_KEY, Scanner
from kanban.state import BoardState

from ..factories import write_task

DEEP = 1500


def deep_chain(top, levels=DEEP):
    """`top/a/a/.../a/deep.yaml`, `levels` folders deep, built without long paths."""
    os.makedirs(top)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("a", dir_fd=fd)
            child = os.open("a", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open("deep.yaml", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"id: deep\n")
        os.close(leaf)
    finally:
        os.close(fd)


def remove_chain(top):
    """Remove a tree built by `deep_chain` without recursion (shutil.rmtree recurses)."""
    fds = [os.open(top, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        while True:
            try:
                fds.append(os.open("a", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
            except FileNotFoundError:
                break
        for fd in reversed(fds):
            for entry in os.scandir(fd):
                if entry.is_dir(follow_symlinks=False):
                    os.rmdir(entry.name, dir_fd=fd)
                else:
                    os.unlink(entry.name, dir_fd=fd)
    finally:
        for fd in fds:
            os.close(fd)
    os.rmdir(top)


@pytest.fixture
def chains():
    made = []
    yield made
    for top in made:
        if os.path.isdir(top):
            remove_chain(top)


def test_a_deep_tree_at_startup_is_cut_listed_and_the_board_still_works(collab, watch, chains):
    write_task(collab, "inbox/before.yaml", id="before")
    chains.append(collab / "assigned" / "deep")
    deep_chain(chains[-1])
    watcher, rec = watch(collab)
    assert watcher.mode == "running"
    board = rec.wait_for(lambda b: "inbox/before.yaml" in b.tasks)
    cut = "assigned/deep/" + "a/" * 33
    assert board.problems[cut].error.startswith("folder nested more than 32 levels deep")
    write_task(collab, "inbox/after.yaml", id="after")
    rec.wait_for(lambda b: "inbox/after.yaml" in b.tasks)
    assert watcher.mode == "running"


@pytest.mark.parametrize("polling", [False, True])
def test_a_deep_tree_moved_in_while_watching_neither_stops_nor_empties_the_board(
    collab, tmp_path, watch, polling, chains
):
    write_task(collab, "inbox/before.yaml", id="before")
    watcher, rec = watch(collab, force_polling=polling)
    rec.wait_for(lambda b: "inbox/before.yaml" in b.tasks)
    chains.append(collab / "assigned" / "deep")
    deep_chain(tmp_path / "built" / "deep")
    os.rename(tmp_path / "built" / "deep", collab / "assigned" / "deep")  # all at once
    rec.wait_for(lambda b: any(p.startswith("assigned/deep/") for p in b.problems), timeout=10)
    write_task(collab, "assigned/deep/a/near.yaml", id="near")
    write_task(collab, "inbox/after.yaml", id="after")
    board = rec.wait_for(
        lambda b: {"inbox/after.yaml", "assigned/deep/a/near.yaml"} <= set(b.tasks)
    )
    assert "inbox/before.yaml" in board.tasks
    assert watcher.mode == ("polling" if polling else "running")


def test_a_dead_inotify_thread_is_noticed_reported_and_replaced(collab, watch):
    watcher, rec = watch(collab)
    rec.wait_for(lambda b: True)
    watcher._tree.stop()  # as if it had died of an exception
    deadline = time.monotonic() + 5
    while ("stopped", "") not in rec.modes:
        assert time.monotonic() < deadline, "the death went unnoticed"
        time.sleep(0.05)
    write_task(collab, "inbox/later.yaml", id="later")
    rec.wait_for(lambda b: "inbox/later.yaml" in b.tasks)
    assert watcher.mode == "running" and watcher._tree.is_alive()


def test_after_repeated_deaths_it_polls(collab, watch):
    watcher, rec = watch(collab)
    for _ in range(3):
        tree = watcher._tree
        deadline = time.monotonic() + 5
        while watcher._tree is tree or watcher._tree is None:
            if watcher.mode == "polling":
                break
            assert time.monotonic() < deadline
            if tree is not None and tree.is_alive():
                tree.stop()
            time.sleep(0.05)
    deadline = time.monotonic() + 5
    while watcher.mode != "polling":
        assert time.monotonic() < deadline, f"still {watcher.mode}"
        time.sleep(0.05)
    write_task(collab, "inbox/polled.yaml", id="polled")
    rec.wait_for(lambda b: "inbox/polled.yaml" in b.tasks)


def test_health_reports_a_silent_watcher_as_stopped():
    state = BoardState()
    state.note_watcher("running", "", now=1000.0)
    assert state.watcher_health(now=1001.0)["watcher"] == "running"
    assert state.watcher_health(now=1001.0)["watcher_last_cycle_s"] == 1.0
    assert state.watcher_health(now=1100.0)["watcher"] == "stopped"


def test_the_scanner_caps_the_number_of_files_and_says_so(collab):
    for i in range(12):
        write_task(collab, f"inbox/t{i:02}.yaml", id=f"t{i}")
    board = Scanner(collab, max_files=10).scan()
    assert board.counts["total"] == 10
    assert "more than 10 task files" in board.problems[LIMIT_KEY].error
    state = BoardState()
    state.publish_board(board)
    assert state.watcher_health()["files_limited"] is True


def test_a_queue_overflow_reads_the_whole_tree_again(collab, watch, caplog):
    """A real IN_Q_OVERFLOW: the inotify reader is held while 10,000 files appear."""
    watcher, rec = watch(collab)
    rec.wait_for(lambda b: True)
    lock = watcher._tree._fd._lock  # the reader takes it between two reads
    with lock:
        for i in range(10_000):  # 2 events each: past max_queued_events (16,384 here)
            os.close(os.open(collab / "inbox" / f"noise{i}.txt", os.O_CREAT | os.O_WRONLY))
        for i in range(5):
            write_task(collab, f"inbox/lost{i}.yaml", id=f"lost{i}")
    board = rec.wait_for(lambda b: b.counts["inbox"] == 5, timeout=15)
    assert {f"inbox/lost{i}.yaml" for i in range(5)} <= set(board.tasks)
    # The events of the five task files were dropped by the kernel: only the rescan saw them.
    assert "the inotify queue overflowed" in caplog.text


def test_the_overflow_signal_triggers_a_rescan_even_when_no_event_came(collab, watch):
    watcher, rec = watch(collab)
    rec.wait_for(lambda b: True)
    events = watcher._tree.events
    real_changed = events.changed
    events.changed = lambda *a: None  # the events of these writes are lost
    try:
        for i in range(20):
            write_task(collab, f"assigned/x/t{i}.yaml", id=f"t{i}")
        time.sleep(0.3)
    finally:
        events.changed = real_changed
    assert rec.boards[-1].counts["total"] == 0
    watcher._tree.on_queue_overflow()  # what watchdog's InotifyFD calls on IN_Q_OVERFLOW
    rec.wait_for(lambda b: b.counts["assigned"] == 20)


def exhaust_file_descriptors():
    """Lower the soft limit and fill it: every open() now fails with EMFILE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as exc:
        assert exc.errno == errno.EMFILE

    def release():
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return release


def test_files_read_while_descriptors_ran_out_are_read_again_later(collab, watch):
    write_task(collab, "inbox/old.yaml", id="old", title="Before")
    watcher, rec = watch(collab)
    rec.wait_for(lambda b: "inbox/old.yaml" in b.tasks)
    with open(collab / "inbox" / "old.yaml", "w") as fh:  # opened while descriptors are left
        release = exhaust_file_descriptors()
        fh.write("id: old\ntitle: After\n")
    try:  # the watcher's read of this change fails with EMFILE
        rec.wait_for(lambda b: "Too many open files" in str(b.problems), timeout=5)
    finally:
        release()
    # No further event comes: only the retry can bring the change in.
    board = rec.wait_for(
        lambda b: not b.problems and b.tasks["inbox/old.yaml"].title == "After", timeout=10
    )
    assert not board.tasks["inbox/old.yaml"].stale


def test_the_scanner_does_not_remember_a_transient_failure(collab):
    write_task(collab, "inbox/t.yaml", id="t")
    scanner = Scanner(collab)
    release = exhaust_file_descriptors()
    try:
        board = scanner.scan()
    finally:
        release()
    assert board.counts["total"] == 0
    assert any("Too many open files" in p.error for p in board.problems.values())
    files, dirs = scanner.due_retries(now=time.monotonic() + 60)
    board, _ = scanner.refresh(board, files, dirs)
    assert "inbox/t.yaml" in board.tasks and not board.problems
