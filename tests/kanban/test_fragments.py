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
