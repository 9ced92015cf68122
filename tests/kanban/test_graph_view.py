"""GET /graph/: the dependency graph page and its SVG file."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from kanban import graph as graph_domain
from tests.factories import CORPUS, write_task

SVG = "{http://www.w3.org/2000/svg}"


def edge(source: str, target: str) -> str:
    return f'data-source="{source}" data-target="{target}"'


def test_the_corpus_graph_draws_the_python_pedro_prerequisite_chain(client, show):
    if not CORPUS.is_dir():
        pytest.skip("the shared corpus is not next to this repository")
    show(CORPUS)
    response = client.get("/graph/")
    body = response.content.decode()
    assert response.status_code == 200
    chain = [f"2026-02-11T1100-adr045-task{i}" for i in range(1, 6)]
    names = ["doctrine-models", "parsers", "agent-parser", "validators", "dashboard-integration"]
    ids = [f"{c}-{n}" for c, n in zip(chain, names, strict=True)]
    for prerequisite, dependent in zip(ids[:-1], ids[1:], strict=True):
        assert '<path class="edge" d="M' in body
        assert edge(prerequisite, dependent) in body, (prerequisite, dependent)
    assert 'marker-end="url(#dep-arrow)"' in body
    assert 'class="node lane-assigned' in body


def test_the_corpus_graph_for_one_agent_stays_small(client, show):
    if not CORPUS.is_dir():
        pytest.skip("the shared corpus is not next to this repository")
    show(CORPUS)
    body = client.get("/graph/?agent=python-pedro").content.decode()
    assert '<option value="python-pedro" selected>' in body
    assert body.count('class="node ') < 60


def test_nodes_are_coloured_by_lane_and_link_to_the_task_detail(client, show, collab):
    write_task(collab, "done/x/a.yaml", id="mfd-1.2", title="Done prerequisite")
    write_task(collab, "inbox/b.yaml", id="b task", title="Waiting", dependencies=["mfd-1.2"])
    show(collab)
    body = client.get("/graph/").content.decode()
    assert '<a href="/tasks/mfd-1.2/" class="node lane-done" data-task-id="mfd-1.2"' in body
    assert '<a href="/tasks/b%20task/" class="node lane-inbox" data-task-id="b task"' in body
    assert "<title>mfd-1.2: Done prerequisite, done, x</title>" in body
    assert edge("mfd-1.2", "b task") in body


def test_a_cycle_is_listed_above_the_graph_and_its_arrows_highlighted(client, show, collab):
    write_task(collab, "inbox/a.yaml", id="A", title="A", dependencies=["B"])
    write_task(collab, "inbox/b.yaml", id="B", title="B", dependencies=["A"])
    show(collab)
    body = client.get("/graph/").content.decode()
    cycles = body.index('id="graph-cycles"')
    assert cycles < body.index("<svg")
    assert 'data-cycle="A B A"' in body
    assert (
        '<a href="/tasks/A/">A</a> → <a href="/tasks/B/">B</a> → <a href="/tasks/A/">A</a>' in body
    )
    assert body.count('class="edge in-cycle"') == 2
    assert 'marker-end="url(#dep-arrow-cycle)"' in body


def test_an_unknown_dependency_is_drawn_as_a_dashed_unknown_node(client, show, collab):
    write_task(collab, "inbox/a.yaml", id="a", title="A", dependencies=["ghost-1"])
    show(collab)
    body = client.get("/graph/").content.decode()
    assert '<g class="node unknown" data-task-id="ghost-1" data-lane="unknown">' in body
    assert "unknown id" in body
    assert "<code>ghost-1</code> (unknown id)" in body
    assert "stroke-dasharray" in body


def test_the_edges_are_also_listed_in_words(client, show, collab):
    write_task(collab, "inbox/a.yaml", id="a", title="A")
    write_task(
        collab,
        "inbox/b.yaml",
        id="b",
        title="B",
        dependencies=[{"task_id": "a", "type": "prerequisite", "description": "x"}],
    )
    show(collab)
    body = client.get("/graph/").content.decode()
    assert '<details class="graph-edges" id="graph-edge-list">' in body
    assert '<a href="/tasks/b/">b</a> depends on <a href="/tasks/a/">a</a> (prerequisite)' in body


def test_tasks_without_dependencies_appear_only_when_all_is_asked(client, show, collab):
    write_task(collab, "inbox/a.yaml", id="a", title="A")
    write_task(collab, "inbox/b.yaml", id="b", title="B", dependencies=["a"])
    write_task(collab, "inbox/c.yaml", id="lonely", title="Lonely")
    show(collab)
    assert 'data-task-id="lonely"' not in client.get("/graph/").content.decode()
    assert 'data-task-id="lonely"' in client.get("/graph/?all=1").content.decode()


def test_a_board_without_dependencies_says_so(client, show, collab):
    write_task(collab, "inbox/a.yaml", id="a", title="A")
    show(collab)
    body = client.get("/graph/").content.decode()
    assert 'id="graph-empty"' in body
    assert "<svg" not in body


def test_a_graph_beyond_the_cap_says_what_it_left_out(client, show, collab, monkeypatch):
    for i in range(6):
        write_task(
            collab,
            f"inbox/t{i}.yaml",
            id=f"t{i}",
            title="T",
            dependencies=[f"t{i - 1}"] if i else [],
        )
    show(collab)
    monkeypatch.setattr(graph_domain, "MAX_NODES", 4)
    body = client.get("/graph/").content.decode()
    assert 'id="graph-truncated"' in body
    assert "Showing 4 of 6 tasks" in body


def test_the_svg_format_is_a_well_formed_standalone_image(client, show, collab):
    write_task(collab, "inbox/a.yaml", id="a&b", title="Ampersand <and> quotes \"'")
    write_task(collab, "inbox/b.yaml", id="b", title="B", dependencies=["a&b", "ghost"])
    show(collab)
    response = client.get("/graph/?format=svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}style") is not None
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "b depends on a&b" in titles
    assert any(t and t.startswith("ghost: unknown id") for t in titles)


def test_only_get_is_allowed(client, show, collab):
    show(collab)
    assert client.post("/graph/").status_code == 405
