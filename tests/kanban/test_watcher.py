import os
import shutil
import time

from kanban.scanner import Scanner

from ..factories import move, write_task


def test_a_moved_file_changes_lane(collab, watch):
    write_task(collab, "assigned/dev/t1.yaml", id="t1")
    watcher, rec = watch(collab)
    assert watcher.mode == "running"
    rec.wait_for(lambda b: b.counts["assigned"] == 1)
    move(collab, "assigned/dev/t1.yaml", "done/dev/t1.yaml")
    board = rec.wait_for(lambda b: b.counts["done"] == 1)
    assert board.counts["assigned"] == 0


def test_a_burst_of_300_moves_is_one_or_a_few_consistent_boards(collab, watch):
    for i in range(300):
        write_task(collab, f"assigned/dev/t{i}.yaml", id=f"t{i}")
    _, rec = watch(collab)
    rec.wait_for(lambda b: b.counts["assigned"] == 300)
    published = len(rec.boards)
    (collab / "done" / "dev").mkdir(parents=True)
    for i in range(300):
        os.rename(collab / f"assigned/dev/t{i}.yaml", collab / f"done/dev/t{i}.yaml")
    rec.wait_for(lambda b: b.counts["done"] == 300 and b.counts["assigned"] == 0)
    time.sleep(0.7)  # let any late deletion reports arrive
    new_boards = rec.boards[published:]
    assert len(new_boards) <= 10, f"{len(new_boards)} boards for one burst"
    for board in new_boards:
        # every board is a real state: no task missing or doubled mid-burst
        assert board.counts["total"] == 300


def test_a_renamed_agent_folder_is_rescanned(collab, watch):
    for i in range(3):
        write_task(collab, f"assigned/dev/t{i}.yaml", id=f"t{i}")
    _, rec = watch(collab)
    rec.wait_for(lambda b: b.counts["assigned"] == 3)
    os.rename(collab / "assigned" / "dev", collab / "assigned" / "ops")
    board = rec.wait_for(lambda b: {t.agent for t in b.tasks.values()} == {"ops"})
    assert board.counts["assigned"] == 3


def test_a_removed_folder_removes_its_cards(collab, watch):
    for i in range(3):
        write_task(collab, f"done/dev/t{i}.yaml", id=f"t{i}")
    write_task(collab, "inbox/keep.yaml", id="keep")
    _, rec = watch(collab)
    rec.wait_for(lambda b: b.counts["total"] == 4)
    shutil.rmtree(collab / "done" / "dev")
    board = rec.wait_for(lambda b: b.counts["total"] == 1)
    assert list(board.by_id) == ["keep"]


def test_a_collab_dir_that_appears_later_is_picked_up(tmp_path, watch):
    root = tmp_path / "not-yet"
    watcher, rec = watch(root)
    assert ("stopped", str(root)) in rec.modes
    write_task(root, "inbox/t.yaml", id="t")
    rec.wait_for(lambda b: b.counts["inbox"] == 1)
    assert watcher.mode == "running"


def test_a_collab_dir_removed_and_recreated_is_watched_anew(collab, watch):
    write_task(collab, "inbox/a.yaml", id="a")
    _, rec = watch(collab)
    rec.wait_for(lambda b: b.counts["total"] == 1)
    shutil.rmtree(collab)
    rec.wait_for(lambda b: b.counts["total"] == 0)
    write_task(collab, "inbox/b.yaml", id="b")
    board = rec.wait_for(lambda b: b.counts["total"] == 1)
    assert list(board.by_id) == ["b"]
    write_task(collab, "inbox/c.yaml", id="c")
    rec.wait_for(lambda b: b.counts["total"] == 2)


def test_the_polling_fallback_still_sees_changes(collab, watch):
    watcher, rec = watch(collab, force_polling=True)
    assert watcher.mode == "polling"
    write_task(collab, "inbox/t.yaml", id="t")
    rec.wait_for(lambda b: b.counts["inbox"] == 1, timeout=5)


def test_when_inotify_is_exhausted_it_falls_back_to_polling(collab, watch, monkeypatch, caplog):
    import kanban.treewatch as treewatch

    def exhausted(*args, **kwargs):
        raise OSError(28, "inotify watch limit reached")

    # The real limit is per user and shared with the machine: simulate reaching it.
    monkeypatch.setattr(treewatch.InotifyFD, "add_callback", exhausted)
    watcher, rec = watch(collab)
    assert watcher.mode == "polling"
    assert "falling back to polling" in caplog.text
    write_task(collab, "inbox/t.yaml", id="t")
    rec.wait_for(lambda b: b.counts["inbox"] == 1, timeout=5)


def test_editor_style_saves_and_temp_files_do_not_confuse_it(collab, watch):
    write_task(collab, "inbox/t.yaml", id="t", title="Old")
    _, rec = watch(collab)
    rec.wait_for(lambda b: b.counts["inbox"] == 1)
    # vim-like: write a swap file, write to a temp name, rename over the original
    (collab / "inbox" / ".t.yaml.swp").write_text("junk")
    tmp = collab / "inbox" / "t.yaml.tmp"
    tmp.write_text("id: t\ntitle: New\n")
    os.replace(tmp, collab / "inbox" / "t.yaml")
    board = rec.wait_for(
        lambda b: b.tasks.get("inbox/t.yaml") and b.tasks["inbox/t.yaml"].title == "New"
    )
    assert board.counts["total"] == 1 and not board.problems


def test_the_live_board_matches_a_fresh_scan_after_random_churn(collab, watch):
    import random

    rng = random.Random(5)
    _, rec = watch(collab)
    places = ["inbox", "assigned/a", "assigned/b", "done/a", "done/b"]
    where = {}
    for step in range(150):
        n = rng.randrange(30)
        if n not in where:
            where[n] = f"{rng.choice(places)}/t{n}.yaml"
            write_task(collab, where[n], id=f"t{n}", step=step)
        elif rng.random() < 0.5:
            dest = f"{rng.choice(places)}/t{n}.yaml"
            if dest != where[n]:
                move(collab, where[n], dest)
                where[n] = dest
        elif rng.random() < 0.5:
            write_task(collab, where[n], id=f"t{n}", step=step)
        else:
            os.remove(collab / where[n])
            del where[n]
    expected = {p: t.content_key() for p, t in Scanner(collab).scan().tasks.items()}
    rec.wait_for(lambda b: {p: t.content_key() for p, t in b.tasks.items()} == expected, timeout=5)
