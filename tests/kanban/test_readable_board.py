"""Issue 11, "readable at a glance", on the server side: real times, cards that say one thing
each, a feed that says what happened, and history that survives a restart."""

import os
import re

import pytest

from kanban import html as board_html
from kanban.criteria import criteria_progress
from kanban.events import ASSIGNED, COMPLETED, CREATED, REMOVED, UPDATED, diff, history_events
from kanban.filters import TaskFilter
from kanban.scanner import Scanner
from kanban.state import BoardState
from kanban.templatetags.kanban_tags import card_id, short_id

from ..factories import move, write_task, write_text

SAME_MTIME = 1_900_000_000  # every file of a fresh clone has the same time


def same_mtime(root):
    for folder, _, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(folder, name), (SAME_MTIME, SAME_MTIME))


def card_of(html, task_id):
    found = re.search(
        rf'<li id="card-\w+" class="card[^"]*" data-task-id="{task_id}".*?</li>', html, re.S
    )
    assert found, f"no card {task_id}"
    return found.group(0)


# --- real times ---------------------------------------------------------------------------


def test_cards_of_one_agent_are_ordered_by_their_own_timestamps_not_the_file_time(collab):
    write_task(collab, "done/dev/old.yaml", id="old", completed_at="2026-01-01T10:00:00Z")
    write_task(collab, "done/dev/new.yaml", id="new", completed_at="2026-02-10T12:10:00Z")
    write_task(collab, "done/dev/mid.yaml", id="mid", completed_at="2026-01-20T08:00:00Z")
    same_mtime(collab)
    board = Scanner(collab).scan()
    assert [t.id for t in board.groups[("done", "dev")]] == ["new", "mid", "old"]


def test_a_card_says_which_field_its_time_came_from(collab):
    write_task(collab, "done/dev/a.yaml", id="a", title="A", completed_at="2026-02-10T12:10:00Z")
    write_task(collab, "inbox/b.yaml", id="b", title="B")
    same_mtime(collab)
    board = Scanner(collab).scan()
    a, b = board.by_id["a"][0], board.by_id["b"][0]
    assert (a.moment_source, a.moment) == ("completed_at", 1770725400.0)
    assert b.moment_source == "" and b.moment == b.updated_at  # no timestamp: the file's
    page = "".join(board_html.card_html(board, t) for t in (a, b))
    assert 'title="completed_at 2026-02-10 12:10:00 UTC"' in card_of(page, "a")
    assert "file modified 2030-03-17 17:46:40 UTC, no timestamp in the task" in card_of(page, "b")
    assert 'datetime="2026-02-10T12:10:00+00:00"' in card_of(page, "a")


def test_created_at_orders_the_inbox_when_every_file_has_the_same_time(collab):
    for i, day in enumerate((3, 9, 1)):
        write_task(collab, f"inbox/t{i}.yaml", id=f"t{i}", created_at=f"2026-02-0{day}T00:00:00Z")
    same_mtime(collab)
    board = Scanner(collab).scan()
    assert [t.id for t in board.groups[("inbox", "")]] == ["t1", "t0", "t2"]


# --- cards that say one thing each ------------------------------------------------------------


def test_short_ids_drop_the_date_stamp_and_the_agent_and_keep_the_full_id_on_hover():
    assert short_id("2026-02-10T0903-architect-add-export-endpoint", "architect") == (
        "add-export-endpoint"
    )
    assert short_id("T-17") == "T-17"
    assert short_id("x" * 40) == "x" * 23 + "…"


def test_a_slug_that_repeats_the_title_shows_its_date_stamp_so_repeats_can_be_told_apart(collab):
    write_task(collab, "done/arch/a.yaml", id="2026-02-10T0903-arch-add-export", title="Add export")
    write_task(collab, "done/arch/b.yaml", id="2026-02-10T0903-arch-other", title="Add export")
    board = Scanner(collab).scan()
    assert card_id(board.by_id["2026-02-10T0903-arch-add-export"][0]) == "2026-02-10T0903"
    assert card_id(board.by_id["2026-02-10T0903-arch-other"][0]) == "other"
    html = board_html.card_html(board, board.by_id["2026-02-10T0903-arch-add-export"][0])
    assert 'title="2026-02-10T0903-arch-add-export"' in html


def test_the_status_pill_shows_only_when_it_disagrees_with_the_lane(collab):
    write_task(collab, "done/dev/a.yaml", id="a", status="done")
    write_task(collab, "assigned/dev/b.yaml", id="b", status="assigned")
    write_task(collab, "assigned/dev/c.yaml", id="c", status="in_progress")
    write_task(collab, "done/dev/d.yaml", id="d", status="error")
    board = Scanner(collab).scan()
    cards = {t.id: board_html.card_html(board, t) for t in board.tasks.values()}
    assert "status badge" not in cards["a"] and "status badge" not in cards["b"]
    assert ">in progress</span>" in cards["c"]
    assert "badge-error" in cards["d"]


def test_blocked_means_an_unmet_prerequisite_and_never_shows_on_done(collab):
    write_task(collab, "inbox/pre.yaml", id="pre")
    write_task(collab, "inbox/syn.yaml", id="syn")
    write_task(
        collab,
        "assigned/dev/a.yaml",
        id="a",
        status="blocked",
        dependencies=[
            {"task_id": "pre", "type": "prerequisite"},
            {"task_id": "syn", "type": "synergy"},
        ],
    )
    write_task(collab, "done/dev/b.yaml", id="b", dependencies=["pre"])
    board = Scanner(collab).scan()
    a = board_html.card_html(board, board.by_id["a"][0])
    b = board_html.card_html(board, board.by_id["b"][0])
    assert a.count('class="blocked"') == 1 and "blocked by 1" in a
    assert "blocked by 1" in a and 'title="Waiting for pre"' in a
    assert "status badge" not in a  # the status says the same: one marker, not two
    assert "blocked" not in b.replace("is-blocked", "")  # nothing visible either
    assert "is-blocked" not in b


def test_priority_is_an_icon_and_label_never_the_error_colour(collab):
    write_task(collab, "inbox/a.yaml", id="a", priority="CRITICAL")
    write_task(collab, "inbox/b.yaml", id="b", priority="normal")
    board = Scanner(collab).scan()
    a = board_html.card_html(board, board.by_id["a"][0])
    b = board_html.card_html(board, board.by_id["b"][0])
    assert '<span aria-hidden="true">‼</span> critical' in a
    assert 'class="prio ' not in b  # normal is the default: nothing to say
    css = (board_html.settings.BASE_DIR / "static/dashboard/dashboard.css").read_text()
    rule = re.search(r"\.prio\.prio-critical \{([^}]*)\}", css)
    assert rule and "var(--err)" not in rule.group(1)


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("- [x] one\n- [ ] two\n- [x] three\n", "2/3"),
        (["✅ Schemas enforce fields", "✅ Validation", "Example files"], "2/2"),
        ([{"text": "a", "done": True}, {"text": "b", "done": False}], "1/2"),
        ([{"Three columns": True}, {"Done hidden": False}], "1/2"),
        ({"Backend": ["- [x] api"], "Frontend": ["[ ] page", "[x] css"]}, "2/3"),
        ([{"description": "x", "status": "met"}, {"description": "y", "status": "open"}], "1/2"),
        (["Plain wish", "Another"], None),  # no item says whether it is met: no progress
        ("Just prose", None),
    ],
)
def test_acceptance_criteria_progress_reads_every_shape_the_corpus_has(criteria, expected):
    progress = criteria_progress({"acceptance_criteria": criteria})
    assert (progress.label if progress else None) == expected


def test_a_card_shows_criteria_progress(collab):
    write_task(collab, "inbox/a.yaml", id="a", acceptance_criteria="- [x] one\n- [ ] two\n")
    board = Scanner(collab).scan()
    html = board_html.card_html(board, board.by_id["a"][0])
    assert 'title="1 of 2 acceptance criteria met"' in html and "1/2</span>" in html


# --- a feed that says what happened ------------------------------------------------------------


def test_a_move_says_from_which_lane_and_an_edit_says_which_fields(collab):
    write_task(collab, "assigned/dev/a.yaml", id="a", title="Alpha", priority="low")
    write_task(collab, "inbox/b.yaml", id="b", title="Beta", status="new")
    scanner = Scanner(collab)
    old = scanner.scan()
    move(collab, "assigned/dev/a.yaml", "done/dev/a.yaml")
    write_task(collab, "inbox/b.yaml", id="b", title="Beta", status="new", priority="high")
    new = scanner.scan(old)
    events = {e.task_id: e for e in diff(old, new)}
    assert events["a"].kind == COMPLETED and events["a"].old_lane == "assigned"
    assert events["b"].kind == UPDATED and events["b"].fields == ("priority",)


def test_a_removed_task_keeps_its_last_title(collab):
    write_task(collab, "inbox/a.yaml", id="a", title="Alpha")
    scanner = Scanner(collab)
    old = scanner.scan()
    (collab / "inbox/a.yaml").unlink()
    (event,) = diff(old, scanner.scan(old))
    assert event.kind == REMOVED and event.title == "Alpha"


def test_feed_entries_show_clock_time_title_and_from_to(collab):
    write_task(collab, "assigned/dev/a.yaml", id="a", title="Alpha")
    scanner = Scanner(collab)
    state = BoardState()
    state.publish_board(scanner.scan())
    move(collab, "assigned/dev/a.yaml", "done/dev/a.yaml")
    state.publish_board(scanner.scan(state.board))
    (completed,) = [e for e in state.feed if e.event.kind == COMPLETED]
    (html,) = board_html.feed_html_of([completed])
    assert "Assigned → Done · dev" in html
    assert ">Alpha</a>" in html
    assert re.search(
        r'<time class="clock" datetime="[^"]+" data-clock="\d+" [^>]*>\d\d:\d\d:\d\d<', html
    )
    assert "ago<" not in html


# --- history that survives a restart ---------------------------------------------------------


def test_after_a_start_the_feed_holds_what_the_task_timestamps_record_newest_first(collab):
    write_task(
        collab,
        "done/dev/a.yaml",
        id="a",
        title="Alpha",
        created_at="2026-02-01T09:00:00Z",
        assigned_at="2026-02-02T09:00:00Z",
        completed_at="2026-02-03T09:00:00Z",
    )
    write_task(collab, "inbox/b.yaml", id="b", title="Beta", created="2026-02-02T12:00:00")
    write_text(collab, "inbox/c.yaml", "id: c\ntitle: No time\n")
    state = BoardState()
    state.publish_board(Scanner(collab).scan())
    feed = [(e.event.kind, e.event.task_id) for e in state.feed]
    assert feed == [
        (COMPLETED, "a"),
        (CREATED, "b"),
        (ASSIGNED, "a"),
        (CREATED, "a"),
    ]
    assert all(e.event.history for e in state.feed)
    numbers = [e.number for e in state.feed]
    assert numbers == sorted(numbers, reverse=True)  # newest first, as live entries are
    html = "".join(board_html.feed_html_of(list(state.feed)))
    assert html.count('data-history="true"') == 4
    assert "from completed_at in the task file" in html


def test_history_is_bounded_and_ignores_dates_far_in_the_future(collab):
    for i in range(70):
        write_task(
            collab,
            f"inbox/t{i}.yaml",
            id=f"t{i}",
            created_at=f"2026-01-01T{i // 60:02}:{i % 60:02}:00Z",
        )
    write_task(collab, "inbox/typo.yaml", id="typo", created_at="2099-01-01T00:00:00Z")
    board = Scanner(collab).scan()
    past = history_events(board, 50)
    assert len(past) == 50 and past[0].task_id == "t69"
    assert "typo" not in {e.task_id for e in past}


def test_live_entries_made_before_the_board_was_read_stay_on_top_of_history(collab):
    from kanban.state import FeedItem

    write_task(collab, "inbox/a.yaml", id="a", created_at="2026-02-01T09:00:00Z")
    state = BoardState()
    state.add_feed_item(FeedItem("mcp.server.started", "fs started"))
    seq_before = state.seq
    state.publish_board(Scanner(collab).scan())
    assert [e.event.kind for e in state.feed] == ["mcp.server.started", CREATED]
    change = state.history[-1]
    assert change.feed_reset and state.seq == seq_before + 1
    # a page that had the live entry gets the whole feed again, renumbered
    messages = board_html.update_messages(state, seq_before, state.seq, TaskFilter())
    assert messages and 'id="activity-feed"' in "".join(messages)
