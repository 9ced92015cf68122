import os
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanban.board import Board, build_indexes
from kanban.events import (
    ASSIGNED,
    COMPLETED,
    CREATED,
    FAILED,
    REMOVED,
    STARTED,
    UPDATED,
    apply_events,
    diff,
)
from kanban.scanner import Scanner

from ..factories import corpus_like_tree, move, write_task, write_text


def kinds(events):
    return [(e.kind, e.task_id) for e in events]


def test_moving_a_file_to_done_is_one_completed_event(collab):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="One")
    scanner = Scanner(collab)
    before = scanner.scan()
    move(collab, "assigned/dev/t1.yaml", "done/dev/t1.yaml")
    after = scanner.refresh(before, ["assigned/dev/t1.yaml", "done/dev/t1.yaml"], [])[0]
    assert kinds(diff(before, after)) == [(COMPLETED, "t1")]
    assert after.counts == {"inbox": 0, "assigned": 0, "done": 1, "total": 1}


def test_each_kind_of_change_has_its_event(collab):
    scanner = Scanner(collab)
    b0 = scanner.scan()
    write_task(collab, "inbox/t1.yaml", id="t1", status="new")
    b1 = scanner.refresh(b0, ["inbox/t1.yaml"], [])[0]
    assert kinds(diff(b0, b1)) == [(CREATED, "t1")]
    move(collab, "inbox/t1.yaml", "assigned/a/t1.yaml")
    b2 = scanner.refresh(b1, ["inbox/t1.yaml", "assigned/a/t1.yaml"], [])[0]
    assert kinds(diff(b1, b2)) == [(ASSIGNED, "t1")]
    write_task(collab, "assigned/a/t1.yaml", id="t1", status="in_progress")
    b3 = scanner.refresh(b2, ["assigned/a/t1.yaml"], [])[0]
    assert kinds(diff(b2, b3)) == [(STARTED, "t1")]
    write_task(collab, "assigned/a/t1.yaml", id="t1", status="error")
    b4 = scanner.refresh(b3, ["assigned/a/t1.yaml"], [])[0]
    assert kinds(diff(b3, b4)) == [(FAILED, "t1")]
    write_task(collab, "assigned/a/t1.yaml", id="t1", status="error", title="Renamed")
    b5 = scanner.refresh(b4, ["assigned/a/t1.yaml"], [])[0]
    assert kinds(diff(b4, b5)) == [(UPDATED, "t1")]
    move(collab, "assigned/a/t1.yaml", "assigned/b/t1.yaml")
    b6 = scanner.refresh(b5, ["assigned/a/t1.yaml", "assigned/b/t1.yaml"], [])[0]
    assert kinds(diff(b5, b6)) == [(UPDATED, "t1")]
    os.remove(collab / "assigned/b/t1.yaml")
    b7 = scanner.refresh(b6, ["assigned/b/t1.yaml"], [])[0]
    assert kinds(diff(b6, b7)) == [(REMOVED, "t1")]


def test_touching_a_file_without_changing_it_is_no_event(collab):
    path = write_task(collab, "inbox/t1.yaml", id="t1")
    scanner = Scanner(collab)
    before = scanner.scan()
    os.utime(path)
    after = scanner.refresh(before, ["inbox/t1.yaml"], [])[0]
    assert diff(before, after) == []


def test_a_task_whose_file_breaks_keeps_its_last_good_card_marked_stale(collab):
    write_task(collab, "assigned/a/t1.yaml", id="t1", title="Good")
    scanner = Scanner(collab)
    before = scanner.scan()
    write_text(collab, "assigned/a/t1.yaml", "id: t1\ntitle: [broken\n")
    after = scanner.refresh(before, ["assigned/a/t1.yaml"], [])[0]
    card = after.tasks["assigned/a/t1.yaml"]
    assert card.title == "Good" and "invalid YAML" in card.stale
    assert "assigned/a/t1.yaml" in after.problems
    assert kinds(diff(before, after)) == [(UPDATED, "t1")]
    write_task(collab, "assigned/a/t1.yaml", id="t1", title="Fixed")
    fixed = scanner.refresh(after, ["assigned/a/t1.yaml"], [])[0]
    assert fixed.tasks["assigned/a/t1.yaml"].title == "Fixed"
    assert not fixed.tasks["assigned/a/t1.yaml"].stale and not fixed.problems


def test_a_directory_moved_in_brings_all_its_tasks(collab, tmp_path):
    outside = tmp_path / "staging" / "dev"
    for i in range(5):
        write_task(outside, f"t{i}.yaml", id=f"t{i}")
    scanner = Scanner(collab)
    before = scanner.scan()
    shutil.move(str(outside), str(collab / "assigned" / "dev"))
    after = scanner.refresh(before, [], ["assigned/dev"])[0]
    assert after.counts["assigned"] == 5
    assert sorted(kinds(diff(before, after))) == [(CREATED, f"t{i}") for i in range(5)]


def test_duplicate_ids_are_both_shown_and_reported(collab):
    write_task(collab, "inbox/a.yaml", id="same")
    write_task(collab, "done/x/b.yaml", id="same")
    board = Scanner(collab).scan()
    assert board.counts["total"] == 2
    (problem,) = board.all_problems()
    assert problem.error == "duplicate id 'same' in 2 files: done/x/b.yaml, inbox/a.yaml"


def test_a_duplicate_id_is_listed_once_with_its_paths_capped(collab):
    for i in range(300):
        write_task(collab, f"inbox/dup-{i:03}.yaml", id="same")
    board = Scanner(collab).scan()
    (problem,) = board.all_problems()
    # Before: 300 entries, each naming the 299 others (about 1.9 MB of problems).
    assert problem.error.startswith("duplicate id 'same' in 300 files: inbox/dup-000.yaml")
    assert problem.error.endswith("and 295 more")


def test_the_problem_list_is_capped_with_a_marker_saying_how_many_more(collab):
    from kanban.board import MAX_PROBLEMS_LISTED

    for i in range(MAX_PROBLEMS_LISTED + 50):
        write_text(collab, f"inbox/bad-{i:04}.yaml", "[not a mapping")
    write_task(collab, "inbox/a.yaml", id="twice")
    write_task(collab, "inbox/b.yaml", id="twice")
    listed = Scanner(collab).scan().all_problems()
    assert len(listed) == MAX_PROBLEMS_LISTED + 1
    assert listed[-1].path == ""
    assert listed[-1].error == "+51 more problems not listed"


def test_a_card_waiting_on_unfinished_prerequisites_is_blocked(tmp_path):
    board = Scanner(corpus_like_tree(tmp_path)).scan()
    parsers = board.by_id["2026-02-11T1100-parsers"][0]
    assert board.unmet_dependencies(parsers) == ["2026-02-11T1100-models"]
    adapter = board.by_id["2026-02-05T0900-adapter"][0]
    assert board.unmet_dependencies(adapter) == []


# --- the property: any sequence of operations; the live board equals a fresh scan -------

AGENTS = ["a", "b"]
PLACES = ["inbox"] + [f"{lane}/{agent}" for lane in ("assigned", "done") for agent in AGENTS]
operations = st.lists(
    st.tuples(
        st.sampled_from(["create", "move", "edit", "corrupt", "delete"]),
        st.integers(0, 5),
        st.sampled_from(PLACES),
        st.sampled_from(["new", "in_progress", "error", "done"]),
    ),
    min_size=1,
    max_size=25,
)


def visible(board):
    return (
        {p: t.content_key() for p, t in board.tasks.items() if not t.stale},
        dict(board.problems),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_any_sequence_of_changes_ends_in_the_same_board_as_a_fresh_scan(tmp_path_factory, ops):
    root = tmp_path_factory.mktemp("prop")
    scanner = Scanner(root)
    live = scanner.scan()
    where: dict[int, str] = {}  # task number -> relative path
    for op, n, place, status in ops:
        name = f"t{n}.yaml"
        touched: list[str] = []
        expect_change = True
        if op == "create":
            if n in where:
                continue
            where[n] = f"{place}/{name}"
            write_task(root, where[n], id=f"t{n}", status=status, title=f"T{n}")
            touched = [where[n]]
        elif n not in where:
            continue
        elif op == "move":
            dest = f"{place}/{name}"
            if dest == where[n]:
                continue
            move(root, where[n], dest)
            touched = [where[n], dest]
            expect_change = where[n] in live.tasks
            where[n] = dest
        elif op == "edit":
            old = live.tasks.get(where[n])
            write_task(root, where[n], id=f"t{n}", status=status, title=f"T{n}")
            touched = [where[n]]
            expect_change = old is None or old.stale != "" or old.status != status
        elif op == "corrupt":
            old = live.tasks.get(where[n])
            write_text(root, where[n], "id: [unclosed\n")
            touched = [where[n]]
            expect_change = old is not None and not old.stale
        elif op == "delete":
            os.remove(root / where[n])
            touched = [where[n]]
            expect_change = where[n] in live.tasks
            del where[n]
        new = scanner.refresh(live, touched, [])[0]
        events = diff(live, new)
        assert len(events) == (1 if expect_change else 0), (op, kinds(events))
        rebuilt = apply_events(
            live, [e.as_message() for e in events], [p.as_json() for p in new.problems.values()]
        )
        assert {p: t.content_key() for p, t in rebuilt.tasks.items()} == {
            p: t.content_key() for p, t in new.tasks.items()
        }
        # A web worker's indexes come forward from its last board, and match a fresh build.
        fresh = build_indexes(rebuilt.tasks)
        assert rebuilt.given_indexes is not None
        assert paths_of(rebuilt.groups) == paths_of(fresh.groups)
        assert paths_of(rebuilt.dependents) == paths_of(fresh.dependents)
        assert rebuilt.counts == fresh.counts
        assert visible(new) == visible(Scanner(root).scan())
        live = new


def paths_of(index):
    return {key: [t.path for t in tasks] for key, tasks in index.items() if tasks}


def test_a_move_into_a_new_folder_is_one_move_even_before_the_old_path_is_reported(collab):
    write_task(collab, "assigned/dev/t1.yaml", id="t1")
    scanner = Scanner(collab)
    before = scanner.scan()
    move(collab, "assigned/dev/t1.yaml", "done/dev/t1.yaml")
    # watchdog reports the new folder first; the old path's deletion comes half a second later
    after = scanner.refresh(before, [], ["done/dev"])[0]
    assert kinds(diff(before, after)) == [(COMPLETED, "t1")]


def test_a_big_tree_is_read_in_two_steps_with_the_visible_cards_first(collab):
    import time as _time

    for i in range(1600):
        write_task(collab, f"done/dev/t{i:04d}.yaml", id=f"t{i:04d}", title=f"Task {i}")
    newest = collab / "done/dev/t0000.yaml"
    future = _time.time() + 60
    os.utime(newest, (future, future))
    scanner = Scanner(collab)
    quick = scanner.scan(eager=40)
    assert quick.counts["done"] == 1600
    assert quick.pending_count == 1560
    assert not quick.tasks["done/dev/t0000.yaml"].pending  # the most recent are read first
    board = quick
    while board.pending_count:
        board = scanner.fill_pending(board, 500)[0]
    assert diff(quick, board) == []  # finishing the read is not news
    assert board.tasks["done/dev/t1599.yaml"].title == "Task 1599"


def test_prose_dependencies_are_notes_but_an_id_with_a_space_still_links(collab):
    write_task(collab, "inbox/a.yaml", id="task one", title="Has a space")
    write_task(
        collab,
        "inbox/b.yaml",
        id="b",
        dependencies=["DDR-011 (completed)", "docs/adr/ADR-04.md", "task one", "plain-id"],
    )
    board = Scanner(collab).scan()
    b = board.by_id["b"][0]
    assert b.dependency_ids == ["plain-id"]
    assert [board.dependency_target(d) for d in b.dependencies] == [
        None,
        None,
        "task one",
        "plain-id",
    ]
    assert board.unmet_dependencies(b) == ["task one"]
    assert [t.id for t in board.dependents["task one"]] == ["b"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_indexes_carried_forward_equal_indexes_built_from_scratch(tmp_path_factory, ops):
    root = tmp_path_factory.mktemp("idx")
    scanner = Scanner(root)
    live = scanner.scan().indexed()
    for op, n, place, status in ops:
        path = next((p for p in live.tasks if p.endswith(f"/t{n}.yaml")), None)
        touched = []
        if op == "create" and path is None:
            touched = [f"{place}/t{n}.yaml"]
            write_task(
                root, touched[0], id=f"t{n}", status=status, dependencies=[f"t{(n + 1) % 6}"]
            )
        elif op == "move" and path and path != f"{place}/t{n}.yaml":
            move(root, path, f"{place}/t{n}.yaml")
            touched = [path, f"{place}/t{n}.yaml"]
        elif op == "delete" and path:
            os.remove(root / path)
            touched = [path]
        elif op in ("edit", "corrupt") and path:
            write_task(root, path, id=f"t{n % 3}", status=status)  # ids may collide: duplicates
            touched = [path]
        refreshed, seen = scanner.refresh(live, touched, [])
        new = refreshed.indexed(live, seen)
        fresh = Board(dict(new.tasks), dict(new.problems))
        assert new.counts == fresh.counts
        # (list order within an id may differ: compare the paths)
        assert {k: sorted(t.path for t in v) for k, v in new.by_id.items()} == {
            k: sorted(t.path for t in v) for k, v in fresh.by_id.items()
        }
        assert {k: [t.path for t in v] for k, v in new.groups.items()} == {
            k: [t.path for t in v] for k, v in fresh.groups.items()
        }
        assert {k: sorted(t.path for t in v) for k, v in new.dependents.items()} == {
            k: sorted(t.path for t in v) for k, v in fresh.dependents.items()
        }
        assert new.duplicate_ids == fresh.duplicate_ids
        live = new


def test_a_reconciling_scan_names_only_what_changed_on_disk(collab):
    write_task(collab, "inbox/same.yaml", id="same")
    write_task(collab, "inbox/edited.yaml", id="edited", title="Old")
    write_task(collab, "inbox/gone.yaml", id="gone")
    scanner = Scanner(collab)
    before = scanner.scan()
    write_task(collab, "inbox/edited.yaml", id="edited", title="New title, longer")
    os.remove(collab / "inbox" / "gone.yaml")
    write_task(collab, "assigned/a/new.yaml", id="new")
    after, touched = scanner.reconcile(before)
    assert touched == {"inbox/edited.yaml", "inbox/gone.yaml", "assigned/a/new.yaml"}
    assert after.tasks["inbox/same.yaml"] is before.tasks["inbox/same.yaml"]
    assert after.tasks["inbox/edited.yaml"].title == "New title, longer"
    assert scanner.reconcile(after)[1] == set()
