from kanban.board import Board
from kanban.filters import TaskFilter
from kanban.redraw import Limits, plan
from kanban.tasks import Task


def task(path, t, agent="dev"):
    lane = path.split("/", 1)[0]
    return Task(
        id=path.rsplit("/", 1)[1].split(".")[0],
        path=path,
        lane=lane,
        agent=agent,
        title="x",
        priority="normal",
        status="",
        estimated_hours=None,
        dependencies=(),
        updated_at=t,
        data={},
    )


def board(*tasks):
    return Board({t.path: t for t in tasks})


def kinds(ops):
    return [(op.kind, [t.path for t in op.tasks] or op.path) for op in ops]


LIMITS = Limits(done=2, other=3)


def test_a_fresh_card_goes_on_top_of_its_group():
    old = board(task("done/dev/a.yaml", 1))
    new = board(task("done/dev/a.yaml", 1), task("done/dev/b.yaml", 2))
    ops = plan(old, new, ["done/dev/b.yaml"], TaskFilter(), LIMITS)
    assert kinds(ops) == [("insert_cards", ["done/dev/b.yaml"]), ("group_meta", "")]


def test_a_card_leaving_a_full_group_lets_the_next_one_in_at_the_bottom():
    a, b, c = task("done/dev/a.yaml", 3), task("done/dev/b.yaml", 2), task("done/dev/c.yaml", 1)
    ops = plan(board(a, b, c), board(b, c), ["done/dev/a.yaml"], TaskFilter(), LIMITS)
    assert kinds(ops) == [
        ("delete_card", "done/dev/a.yaml"),
        ("append_cards", ["done/dev/c.yaml"]),
        ("group_meta", ""),
    ]


def test_a_card_landing_mid_list_redraws_the_bounded_list():
    a, c = task("assigned/dev/a.yaml", 3), task("assigned/dev/c.yaml", 1)
    b = task("assigned/dev/b.yaml", 2)
    ops = plan(board(a, c), board(a, b, c), ["assigned/dev/b.yaml"], TaskFilter(), LIMITS)
    assert [op.kind for op in ops] == ["group_cards", "group_meta"]


def test_a_new_agent_redraws_its_lane():
    old = board(task("assigned/dev/a.yaml", 1))
    new = board(task("assigned/ops/a.yaml", 1, agent="ops"))
    ops = plan(old, new, ["assigned/dev/a.yaml", "assigned/ops/a.yaml"], TaskFilter(), LIMITS)
    assert [op.kind for op in ops] == ["lane"]


def test_a_filtered_view_ignores_cards_outside_it():
    old = board(task("inbox/a.yaml", 1, agent="dev"))
    new = board(task("inbox/a.yaml", 1, agent="dev"), task("inbox/b.yaml", 2, agent="ops"))
    ops = plan(old, new, ["inbox/b.yaml"], TaskFilter(agent="dev"), LIMITS)
    assert kinds(ops) == [("group_meta", "")]


def test_an_emptied_group_is_deleted():
    old = board(task("assigned/dev/a.yaml", 1), task("assigned/ops/b.yaml", 1, agent="ops"))
    new = board(task("assigned/ops/b.yaml", 1, agent="ops"))
    ops = plan(old, new, ["assigned/dev/a.yaml"], TaskFilter(), LIMITS)
    assert [op.kind for op in ops] == ["delete_group"]


# --- the swapper's contract: what the server pushes uses only the four forms -------------


def _pushed_messages(collab):
    """Messages of every kind: a whole state, moves, a new agent, problems, feed, a panel."""
    from kanban import html, runtime
    from kanban.scanner import Scanner
    from kanban.state import BoardState, FeedItem

    from ..factories import move, write_task, write_text

    state = BoardState()
    write_task(collab, "assigned/dev/a.yaml", id="a")
    write_task(collab, "assigned/dev/b.yaml", id="b")
    scanner = Scanner(collab)
    board = scanner.scan()
    state.publish_board(board)
    messages = list(html.full_state_messages(state, TaskFilter())[1])
    steps = [
        lambda: move(collab, "assigned/dev/a.yaml", "done/dev/a.yaml"),
        lambda: write_task(collab, "assigned/ops/c.yaml", id="c"),
        lambda: write_text(collab, "inbox/broken.yaml", "id: [x\n"),
        lambda: (collab / "assigned/dev/b.yaml").unlink(),
    ]
    for step in steps:
        step()
        before = state.seq
        board = scanner.scan(board)
        state.publish_board(board)
        for flt in (TaskFilter(), TaskFilter(agent="dev")):
            messages += html.update_messages(state, before, state.seq, flt) or []
    before = state.seq
    state.add_feed_item(FeedItem("operation.started", "run"))
    messages += html.update_messages(state, before, state.seq, TaskFilter()) or []
    messages += html.pack([runtime.panel_html(html.COSTS_PANEL)])
    return messages


def test_pushed_fragments_use_only_the_four_forms_the_page_understands(collab):
    from kanban import html

    from .messages import top_level

    seen = set()
    for message in _pushed_messages(collab):
        for tag, attrs in top_level(message):
            how = attrs.get("hx-swap-oob")
            form = how.split(":", 1)[0] if how else None
            seen.add(form)
            if form in (html.OOB_REPLACE, html.OOB_DELETE):
                assert attrs.get("id"), f"<{tag}> {how} without an id"
            else:
                assert form in (html.OOB_PREPEND, html.OOB_APPEND), f"<{tag} {attrs}>"
                assert how.split(":", 1)[1].startswith("#")
    assert seen == {"true", "delete", "afterbegin"}  # beforeend: see test_messages


def test_last_change_markup_lives_in_one_place():
    from kanban import html

    from ..factories import REPO

    assert html.partial("last_change", {"changed_ids": "[]"}).count('id="last-change"') == 1
    sources = [p.read_text() for p in (REPO / "kanban").glob("*.py")]
    sources += [p.read_text() for p in (REPO / "templates").rglob("*.html")]
    assert sum(s.count('id="last-change"') for s in sources) == 1
