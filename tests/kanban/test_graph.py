"""The dependency graph: edges, unknown ids, cycles, selection, cap and layout."""

from __future__ import annotations

import time
from typing import Any

from kanban.board import Board
from kanban.graph import NODE_H, NODE_W, build_graph
from kanban.tasks import build_task


def board_of(*specs: tuple[str, dict[str, Any]]) -> Board:
    tasks = {}
    for path, data in specs:
        task = build_task(path, data, 1_700_000_000.0)
        tasks[task.path] = task
    return Board(tasks)


def edges(graph) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in graph.edges}


def test_arrows_run_from_the_prerequisite_to_the_task_that_needs_it():
    board = board_of(
        ("done/p/models.yaml", {"id": "models"}),
        ("assigned/p/parsers.yaml", {"id": "parsers", "dependencies": ["models"]}),
    )
    assert edges(build_graph(board)) == {("models", "parsers")}


def test_every_dependency_shape_becomes_edges_and_prose_does_not():
    board = board_of(
        ("inbox/a.yaml", {"id": "a"}),
        ("inbox/b.yaml", {"id": "b"}),
        ("inbox/ids.yaml", {"id": "ids", "dependencies": ["a"]}),
        (
            "inbox/dicts.yaml",
            {
                "id": "dicts",
                "dependencies": [
                    {"type": "prerequisite", "task_id": "a", "description": "first"},
                    {"type": "parallel", "description": "no id here"},
                ],
            },
        ),
        (
            "inbox/map.yaml",
            {"id": "map", "dependencies": {"prerequisites": ["b", "Hugo installed locally"]}},
        ),
    )
    graph = build_graph(board)
    assert edges(graph) == {("a", "ids"), ("a", "dicts"), ("b", "map")}
    kinds = {(e.source, e.target): e.kinds for e in graph.edges}
    assert kinds[("a", "dicts")] == ("prerequisite",)
    assert kinds[("b", "map")] == ("prerequisites",)


def test_a_dependency_on_an_id_no_file_has_is_an_unknown_node():
    board = board_of(("inbox/a.yaml", {"id": "a", "dependencies": ["ghost-task"]}))
    graph = build_graph(board)
    ghost = next(n for n in graph.nodes if n.id == "ghost-task")
    assert not ghost.known
    assert ghost.lane == "unknown"
    assert "unknown" in ghost.description
    assert graph.unknown_count == 1
    assert graph.edges[0].source_known is False


def test_a_two_task_cycle_is_found_and_its_edges_marked():
    board = board_of(
        ("inbox/a.yaml", {"id": "A", "dependencies": ["B"]}),
        ("inbox/b.yaml", {"id": "B", "dependencies": ["A"]}),
        ("inbox/c.yaml", {"id": "C", "dependencies": ["A"]}),
    )
    graph = build_graph(board)
    assert graph.cycles == [["A", "B", "A"]]
    assert graph.cycle_groups == 1
    marked = {(e.source, e.target) for e in graph.edges if e.in_cycle}
    assert marked == {("A", "B"), ("B", "A")}
    assert {n.id for n in graph.nodes if n.in_cycle} == {"A", "B"}


def test_a_task_that_waits_for_itself_is_a_cycle():
    board = board_of(("inbox/a.yaml", {"id": "me", "dependencies": ["me"]}))
    graph = build_graph(board)
    assert graph.cycles == [["me", "me"]]
    assert graph.edges[0].in_cycle
    assert graph.edges[0].path.startswith("M")


def test_only_tasks_taking_part_in_a_dependency_are_drawn_unless_all_is_asked():
    board = board_of(
        ("inbox/a.yaml", {"id": "a"}),
        ("inbox/b.yaml", {"id": "b", "dependencies": ["a"]}),
        ("inbox/lonely.yaml", {"id": "lonely"}),
    )
    assert {n.id for n in build_graph(board).nodes} == {"a", "b"}
    assert {n.id for n in build_graph(board, show_all=True).nodes} == {"a", "b", "lonely"}


def test_an_agent_filter_keeps_that_agents_tasks_and_their_direct_neighbours():
    board = board_of(
        ("assigned/pedro/p1.yaml", {"id": "p1", "dependencies": ["x1"]}),
        ("assigned/other/x1.yaml", {"id": "x1", "dependencies": ["x0"]}),
        ("assigned/other/x0.yaml", {"id": "x0"}),
        ("assigned/other/far.yaml", {"id": "far", "dependencies": ["x0"]}),
    )
    graph = build_graph(board, agent="pedro")
    assert {n.id for n in graph.nodes} == {"p1", "x1"}
    assert {n.id for n in graph.nodes if n.context} == {"x1"}
    assert edges(graph) == {("x1", "p1")}


def test_a_huge_graph_is_cut_to_whole_components_and_says_how_many_there_were():
    specs = []
    for chain in range(30):
        for step in range(5):
            deps = [f"c{chain}-s{step - 1}"] if step else []
            specs.append(
                (f"inbox/c{chain}-s{step}.yaml", {"id": f"c{chain}-s{step}", "dependencies": deps})
            )
    graph = build_graph(board_of(*specs), max_nodes=12)
    assert graph.total_nodes == 150
    assert graph.truncated
    assert len(graph.nodes) == 12
    drawn = {n.id for n in graph.nodes}
    assert all(e.source in drawn and e.target in drawn for e in graph.edges)
    # Two whole chains and a part of the third: the drawn chains keep their arrows.
    assert len(graph.edges) >= 8


def test_prerequisites_sit_left_of_the_tasks_that_need_them_and_nodes_never_overlap():
    board = board_of(
        ("inbox/a.yaml", {"id": "a"}),
        ("inbox/b.yaml", {"id": "b", "dependencies": ["a"]}),
        ("inbox/c.yaml", {"id": "c", "dependencies": ["b", "a"]}),
        ("inbox/d.yaml", {"id": "d", "dependencies": ["a"]}),
        ("inbox/e.yaml", {"id": "e", "dependencies": ["f"]}),
        ("inbox/f.yaml", {"id": "f"}),
    )
    graph = build_graph(board)
    x = {n.id: n.x for n in graph.nodes}
    assert x["a"] < x["b"] < x["c"]
    assert x["a"] < x["d"]
    assert x["f"] < x["e"]
    boxes = [(n.x, n.y) for n in graph.nodes]
    for i, (x1, y1) in enumerate(boxes):
        for x2, y2 in boxes[i + 1 :]:
            assert abs(x1 - x2) >= NODE_W or abs(y1 - y2) >= NODE_H
    assert all(n.x + NODE_W <= graph.width and n.y + NODE_H <= graph.height for n in graph.nodes)


def test_duplicate_ids_are_one_node_that_knows_both_files():
    board = board_of(
        ("inbox/a.yaml", {"id": "dup"}),
        ("done/x/a.yaml", {"id": "dup"}),
        ("inbox/b.yaml", {"id": "b", "dependencies": ["dup"]}),
    )
    node = next(n for n in build_graph(board).nodes if n.id == "dup")
    assert node.duplicate
    assert "2 files" in node.description


def test_ten_thousand_tasks_give_a_bounded_graph_quickly():
    specs = []
    for i in range(10_000):
        deps = [f"t{i - 1}"] if i % 10 else []
        specs.append((f"assigned/a{i % 7}/t{i}.yaml", {"id": f"t{i}", "dependencies": deps}))
    board = board_of(*specs)
    started = time.perf_counter()
    graph = build_graph(board)
    elapsed = time.perf_counter() - started
    assert graph.total_nodes == 10_000
    assert len(graph.nodes) <= 500
    assert elapsed < 5


def test_an_empty_board_gives_an_empty_graph():
    graph = build_graph(Board())
    assert graph.nodes == [] and graph.edges == [] and not graph.truncated
