"""The dependency graph: which tasks wait for which, laid out for a server-rendered SVG.

Pure Python, no Django. Edges run from the prerequisite to the task that waits for it.

Layout, and why: task dependencies are mostly short chains and small trees, so a layered
left-to-right drawing (a simplified Sugiyama layout) reads like a plan: everything a task
needs sits to its left. networkx gives the layers: strongly connected components are
condensed first (a cycle has no "first" task, so its members share one layer), then
`topological_generations` of the condensation numbers the layers. Within a layer nodes are
ordered by the mean position of their prerequisites (one barycentre sweep), which removes
most crossings in chains at no real cost. Each weakly connected component is laid out on
its own and the blocks are packed in shelves, so 60 unrelated pairs do not become one
60-row column, and a layer taller than MAX_ROWS wraps into extra columns.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

from .board import Board
from .tasks import Task

NODE_W = 210
NODE_H = 44
GAP_X = 70  # between layers: room for the arrows
GAP_Y = 14
PAD = 16
SHELF_WIDTH = 1500  # components are packed side by side up to this width
MAX_ROWS = 30  # a taller layer wraps into another column
MAX_NODES = 500  # beyond this the drawing is cut, with a message
MAX_CYCLES = 20  # cycles listed by name; the count of tangled groups is always exact


@dataclass
class GraphNode:
    id: str
    title: str
    lane: str  # inbox/assigned/done, or "unknown" for ids no file has
    agent: str = ""
    status: str = ""
    paths: tuple[str, ...] = ()
    context: bool = False  # drawn only because a filtered-in task links to it
    in_cycle: bool = False
    x: float = 0.0
    y: float = 0.0

    @property
    def known(self) -> bool:
        return self.lane != "unknown"

    @property
    def duplicate(self) -> bool:
        return len(self.paths) > 1

    @property
    def label(self) -> str:
        return _short(self.title, 30)

    @property
    def id_label(self) -> str:
        return _short(self.id, 34) if self.known else "unknown id"

    # Geometry for the template, which cannot do arithmetic.
    @property
    def width(self) -> int:
        return NODE_W

    @property
    def height(self) -> int:
        return NODE_H

    @property
    def text_x(self) -> float:
        return self.x + 12

    @property
    def title_y(self) -> float:
        return self.y + 18

    @property
    def id_y(self) -> float:
        return self.y + 35

    @property
    def description(self) -> str:
        if not self.known:
            return f"{self.id}: unknown id (no task file has it)"
        parts = [f"{self.id}: {self.title}", self.lane]
        if self.agent and self.lane != "inbox":
            parts.append(self.agent)
        if self.status:
            parts.append(f"status {self.status}")
        if self.duplicate:
            parts.append(f"id used by {len(self.paths)} files")
        if self.in_cycle:
            parts.append("part of a cycle")
        return ", ".join(parts)


@dataclass
class GraphEdge:
    source: str  # the prerequisite
    target: str  # the task that depends on it
    kinds: tuple[str, ...] = ()
    in_cycle: bool = False
    source_known: bool = True
    path: str = ""  # SVG path data

    @property
    def description(self) -> str:
        kinds = f" ({', '.join(self.kinds)})" if self.kinds else ""
        return f"{self.target} depends on {self.source}{kinds}"


@dataclass
class Graph:
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    cycle_groups: int = 0  # strongly connected components with a cycle
    total_nodes: int = 0  # before the cap
    width: float = 0.0
    height: float = 0.0
    agent: str = ""
    show_all: bool = False

    @property
    def truncated(self) -> bool:
        return self.total_nodes > len(self.nodes)

    @property
    def unknown_count(self) -> int:
        return sum(1 for n in self.nodes if not n.known)


def build_graph(
    board: Board, *, agent: str = "", show_all: bool = False, max_nodes: int = MAX_NODES
) -> Graph:
    full = dependency_digraph(board)
    wanted = _selection(board, full, agent, show_all)
    g = full.subgraph(wanted).copy()
    context_ids = set()
    if agent:
        context_ids = {
            n for n, a in g.nodes(data=True) if a["lane"] != "unknown" and a["agent"] != agent
        }
    # Cycles are found before the cap, so a cut drawing still reports them all.
    cyclic_sets = [
        c for c in nx.strongly_connected_components(g) if len(c) > 1 or _self_loop(g, next(iter(c)))
    ]
    in_cycle = set().union(*cyclic_sets) if cyclic_sets else set()
    scc_of = {n: i for i, c in enumerate(cyclic_sets) for n in c}
    cycles = (
        [list(c) for c in itertools.islice(nx.simple_cycles(g), MAX_CYCLES)] if cyclic_sets else []
    )

    total = g.number_of_nodes()
    if total > max_nodes:
        g = g.subgraph(_first_nodes(g, max_nodes)).copy()

    nodes = {
        n: GraphNode(
            id=n,
            title=attrs["title"],
            lane=attrs["lane"],
            agent=attrs["agent"],
            status=attrs["status"],
            paths=attrs["paths"],
            context=n in context_ids,
            in_cycle=n in in_cycle,
        )
        for n, attrs in g.nodes(data=True)
    }
    edges = [
        GraphEdge(
            u,
            v,
            tuple(data.get("kinds", ())),
            in_cycle=u in scc_of and scc_of.get(u) == scc_of.get(v),
            source_known=g.nodes[u]["lane"] != "unknown",
        )
        for u, v, data in g.edges(data=True)
    ]
    graph = Graph(
        nodes=list(nodes.values()),
        edges=edges,
        cycles=[_rotate(c) for c in cycles],
        cycle_groups=len(cyclic_sets),
        total_nodes=total,
        agent=agent,
        show_all=show_all,
    )
    layout(graph, g)
    return graph


def dependency_digraph(board: Board) -> nx.DiGraph:
    """Every task id as a node, every dependency naming an id as an edge (prose is not)."""
    g = nx.DiGraph()
    for task_id, tasks in board.by_id.items():
        tasks = sorted(tasks, key=lambda t: t.path)
        g.add_node(task_id, **_attrs(tasks))
    for task in board.tasks.values():
        for dep in task.dependencies:
            target = board.dependency_target(dep)
            if target is None:
                continue
            if target not in g:
                g.add_node(target, title=target, lane="unknown", agent="", status="", paths=())
            if g.has_edge(target, task.id):
                kinds = g.edges[target, task.id]["kinds"]
                if dep.kind and dep.kind not in kinds:
                    kinds.append(dep.kind)
            else:
                g.add_edge(target, task.id, kinds=[dep.kind] if dep.kind else [])
    return g


def _attrs(tasks: list[Task]) -> dict[str, object]:
    first = tasks[0]
    return {
        "title": first.title,
        "lane": first.lane,
        "agent": first.agent,
        "status": first.status,
        "paths": tuple(t.path for t in tasks),
    }


def _selection(board: Board, g: nx.DiGraph, agent: str, show_all: bool) -> set[str]:
    if agent:
        own = {n for n, a in g.nodes(data=True) if a["agent"] == agent and a["lane"] != "unknown"}
        # Their direct prerequisites and dependents come along, so every arrow has both ends.
        linked = {m for n in own for m in itertools.chain(g.predecessors(n), g.successors(n))}
        chosen = own | linked
        return chosen if show_all else {n for n in chosen if g.degree(n) > 0}
    if show_all:
        return set(g.nodes)
    return {n for n in g.nodes if g.degree(n) > 0}


def _self_loop(g: nx.DiGraph, node: str) -> bool:
    return g.has_edge(node, node)


def _first_nodes(g: nx.DiGraph, limit: int) -> set[str]:
    """Whole components, biggest first, so what is drawn keeps its arrows."""
    chosen: list[str] = []
    undirected = g.to_undirected(as_view=True)
    for comp in sorted(nx.weakly_connected_components(g), key=lambda c: (-len(c), min(c))):
        if len(chosen) + len(comp) <= limit:
            chosen.extend(comp)
            continue
        if len(chosen) >= limit:
            break
        # Too big to fit: a connected part of it, grown from its busiest task.
        start = max(sorted(comp), key=g.degree)
        for n in itertools.chain([start], (v for _, v in nx.bfs_edges(undirected, start))):
            chosen.append(n)
            if len(chosen) >= limit:
                break
        break
    return set(chosen)


_cache: dict[tuple[int, str, bool, int], tuple[Board, Graph]] = {}


def cached_graph(
    board: Board, *, agent: str = "", show_all: bool = False, max_nodes: int = MAX_NODES
) -> Graph:
    """`build_graph`, remembered per board: boards are immutable, and 10,000 tasks cost ~1 s."""
    key = (id(board), agent, show_all, max_nodes)
    hit = _cache.get(key)
    if hit is not None and hit[0] is board:
        return hit[1]
    graph = build_graph(board, agent=agent, show_all=show_all, max_nodes=max_nodes)
    if len(_cache) >= 8:
        _cache.clear()
    _cache[key] = (board, graph)
    return graph


def _rotate(cycle: list[str]) -> list[str]:
    # Start each cycle at its smallest id: the same cycle always reads the same way.
    i = cycle.index(min(cycle))
    ordered = cycle[i:] + cycle[:i]
    return ordered + [ordered[0]]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- layout --------------------------------------------------------------------------------


def layout(graph: Graph, g: nx.DiGraph) -> None:
    nodes = {n.id: n for n in graph.nodes}
    blocks: list[tuple[float, float, dict[str, tuple[float, float]]]] = []
    components = sorted(nx.weakly_connected_components(g), key=lambda c: (-len(c), min(c)))
    singles = [n for c in components for n in c if len(c) == 1 and not _self_loop(g, n)]
    for comp in components:
        if not (len(comp) == 1 and not _self_loop(g, next(iter(comp)))):
            blocks.append(_layered_block(g.subgraph(comp)))
    if singles:
        blocks.append(_grid_block(sorted(singles, key=lambda n: (nodes[n].lane, n))))

    # Shelf packing: blocks left to right, a new shelf when the row is full.
    x = y = shelf_h = 0.0
    width = 0.0
    for w, h, positions in blocks:
        if x > 0 and x + w > SHELF_WIDTH:
            x, y, shelf_h = 0.0, y + shelf_h + GAP_Y * 3, 0.0
        for n, (px, py) in positions.items():
            nodes[n].x, nodes[n].y = PAD + x + px, PAD + y + py
        x += w + GAP_X
        shelf_h = max(shelf_h, h)
        width = max(width, x - GAP_X)
    graph.width = width + 2 * PAD + 50  # room for arcs drawn right of the last column
    graph.height = y + shelf_h + 2 * PAD
    for edge in graph.edges:
        edge.path = _edge_path(nodes[edge.source], nodes[edge.target])


def _layered_block(g: nx.DiGraph) -> tuple[float, float, dict[str, tuple[float, float]]]:
    condensed = nx.condensation(g)
    members = condensed.graph["mapping"]  # node -> component index
    layer_of_comp: dict[int, int] = {}
    for depth, generation in enumerate(nx.topological_generations(condensed)):
        for comp in generation:
            layer_of_comp[comp] = depth
    layers: dict[int, list[str]] = defaultdict(list)
    for n in g.nodes:
        layers[layer_of_comp[members[n]]].append(n)

    row: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    x = 0.0
    height = 0.0
    for depth in sorted(layers):

        def barycentre(n: str) -> tuple[float, str]:
            preds = [row[p] for p in g.predecessors(n) if p in row]
            return (sum(preds) / len(preds) if preds else math.inf, n)

        ordered = sorted(layers[depth], key=lambda n: (*barycentre(n), members[n]))
        columns = math.ceil(len(ordered) / MAX_ROWS)
        for i, n in enumerate(ordered):
            col, r = divmod(i, MAX_ROWS)
            row[n] = r
            positions[n] = (x + col * (NODE_W + GAP_X / 2), r * (NODE_H + GAP_Y))
        height = max(height, min(len(ordered), MAX_ROWS) * (NODE_H + GAP_Y) - GAP_Y)
        x += columns * (NODE_W + GAP_X / 2) - GAP_X / 2 + GAP_X
    return x - GAP_X, height, positions


def _grid_block(names: list[str]) -> tuple[float, float, dict[str, tuple[float, float]]]:
    per_row = max(1, int((SHELF_WIDTH + GAP_X / 2) // (NODE_W + GAP_X / 2)))
    positions: dict[str, tuple[float, float]] = {}
    for i, n in enumerate(names):
        r, c = divmod(i, per_row)
        positions[n] = (c * (NODE_W + GAP_X / 2), r * (NODE_H + GAP_Y))
    rows = math.ceil(len(names) / per_row)
    cols = min(len(names), per_row)
    width = cols * (NODE_W + GAP_X / 2) - GAP_X / 2
    return width, float(rows * (NODE_H + GAP_Y) - GAP_Y), positions


def _edge_path(a: GraphNode, b: GraphNode) -> str:
    if a is b:  # a task that waits for itself: a small loop on its right
        x, y = a.x + NODE_W, a.y + NODE_H / 2
        return _curve((x, y - 8), (x + 40, y - 30), (x + 40, y + 30), (x + 2, y + 8))
    if b.x > a.x + NODE_W / 2:  # forward: right side to left side
        x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
        x2, y2 = b.x - 2, b.y + NODE_H / 2
        bend = max(20.0, (x2 - x1) / 2)
        return _curve((x1, y1), (x1 + bend, y1), (x2 - bend, y2), (x2, y2))
    # Same column (a cycle) or backwards: arc out to the right and come back in.
    x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
    x2, y2 = b.x + NODE_W + 2, b.y + NODE_H / 2
    reach = max(x1, x2) + 40 + abs(y2 - y1) / 6
    return _curve((x1, y1), (reach, y1), (reach, y2), (x2, y2))


def _curve(*points: tuple[float, float]) -> str:
    start, *controls = (f"{x:.0f},{y:.0f}" for x, y in points)
    return f"M{start} C{' '.join(controls)}"
