"""What the server pushes over /dashboard: bounded, split to fit, rendered once per view."""

import asyncio
import threading

import pytest

from kanban import html, runtime
from kanban.filters import TaskFilter
from kanban.scanner import Scanner
from kanban.state import BoardState

from ..factories import write_task, write_text
from .messages import communicator, receive_all, top_level

BUDGET = html.MESSAGE_BUDGET


@pytest.fixture
def state(monkeypatch):
    fresh = BoardState()
    monkeypatch.setattr(runtime, "STATE", fresh)
    return fresh


@pytest.fixture
async def server_loop():
    """What the command does with daphne's loop: threads publish onto it."""
    runtime.set_loop(asyncio.get_running_loop())
    yield
    runtime.set_loop(None)


async def publish(state, board):
    _, changed = state.publish_board(board)
    if changed:
        runtime.HUB.publish({"type": "board.update", "seq": state.seq})


async def connect_and_read(path="/dashboard"):
    ws = communicator(path)
    assert (await ws.connect())[0]
    messages = await receive_all(ws)
    await ws.disconnect()
    return messages


def assert_fits(messages):
    for message in messages:
        assert len(message.encode()) <= BUDGET
        top_level(message)  # complete fragments only


async def test_a_card_with_a_million_character_title_still_connects(state, collab):
    write_task(collab, "inbox/huge.yaml", id="huge", title="x" * 1_000_000)
    write_task(collab, "inbox/small.yaml", id="small", title="Small")
    state.publish_board(Scanner(collab).scan())
    messages = await connect_and_read()
    assert_fits(messages)
    everything = "".join(messages)
    assert 'data-task-id="huge"' in everything and 'data-task-id="small"' in everything
    assert "x" * 1000 not in everything  # cut short on the card


async def test_three_hundred_files_sharing_one_id_still_connect(state, collab):
    for i in range(300):
        write_text(collab, f"inbox/dup-{i:03}.yaml", f"id: same\ntitle: copy {i}\n")
    state.publish_board(Scanner(collab).scan())
    messages = await connect_and_read()
    assert_fits(messages)
    everything = "".join(messages)
    assert everything.count('data-task-id="same"') == 40  # the inbox shows its first 40
    assert 'id="problems"' in everything
    assert f"+{300 - html.PROBLEMS_SHOWN} more" in everything


async def test_four_thousand_broken_files_still_connect(state, collab):
    for i in range(4000):
        write_text(collab, f"inbox/broken-{i:04}.yaml", "id: [not yaml\n")
    write_task(collab, "assigned/dev/fine.yaml", id="fine", title="Fine")
    state.publish_board(Scanner(collab).scan())
    messages = await connect_and_read()
    assert_fits(messages)
    everything = "".join(messages)
    assert 'data-task-id="fine"' in everything
    assert everything.count("broken-") == html.PROBLEMS_SHOWN * 2  # data-path and <code>
    assert 'badge-err">4000<' in everything


async def test_a_full_state_over_the_budget_comes_in_several_messages(state, collab, monkeypatch):
    monkeypatch.setattr(html, "MESSAGE_BUDGET", 40_000)
    for agent in range(30):
        for i in range(5):
            write_task(collab, f"assigned/a{agent:02}/t{i}.yaml", id=f"a{agent:02}-{i}")
    state.publish_board(Scanner(collab).scan())
    messages = await connect_and_read()
    assert len(messages) > 1
    for message in messages:
        assert len(message.encode()) <= 40_000
    everything = "".join(messages)
    assert all(f'data-task-id="a{a:02}-{i}"' in everything for a in range(30) for i in range(5))
    assert 'hx-swap-oob="beforeend:#lane-assigned-groups"' in everything
    # the board comes first, then what is appended to it
    assert everything.index('id="board"') < everything.index("beforeend:#lane-assigned-groups")


async def test_viewers_with_the_same_filter_share_one_render_of_a_change(
    state, collab, monkeypatch
):
    scanner = Scanner(collab)
    board = scanner.scan()
    state.publish_board(board)
    renders = []
    real = html.update_fragments
    monkeypatch.setattr(
        html, "update_fragments", lambda *a, **k: renders.append(a[4]) or real(*a, **k)
    )
    plain = [communicator(f"/dashboard?v={state.version}") for _ in range(5)]
    filtered = [communicator(f"/dashboard?v={state.version}&agent=dev") for _ in range(3)]
    for ws in plain + filtered:
        assert (await ws.connect())[0]
    write_task(collab, "inbox/new.yaml", id="new", agent="dev")
    await publish(state, scanner.refresh(board, ["inbox/new.yaml"], [])[0])
    received = [await ws.receive_from(timeout=5) for ws in plain + filtered]
    assert all('data-task-id="new"' in text for text in received)
    assert len(set(received[:5])) == 1
    assert sorted(f.active for f in renders) == [False, True]  # two views, two renders
    for ws in plain + filtered:
        await ws.disconnect()


async def test_connecting_does_not_take_over_the_server_loop(state):
    runtime.set_loop(None)
    ws = communicator()
    assert (await ws.connect())[0]
    await ws.disconnect()
    assert runtime._loop is None  # the command hands daphne's loop over, not the consumer


async def test_a_panel_is_rendered_once_and_reaches_every_viewer(state, server_loop):
    renders = []

    def render():
        renders.append(1)
        return f'<section id="test-panel" hx-swap-oob="true">v{len(renders)}</section>'

    runtime.register_panel("test-panel", render)
    try:
        viewers = [communicator(f"/dashboard?v={state.version}") for _ in range(4)]
        for ws in viewers:
            assert (await ws.connect())[0]
        worker = threading.Thread(target=runtime.publish_panel, args=("test-panel",))
        worker.start()
        worker.join()
        for ws in viewers:
            assert await ws.receive_from(timeout=5) == (
                '<section id="test-panel" hx-swap-oob="true">v1</section>'
            )
            await ws.disconnect()
        assert len(renders) == 1
        late = await connect_and_read()  # a new page gets the kept panel with the rest
        assert 'id="test-panel" hx-swap-oob="true">v1<' in "".join(late)
        assert runtime.panel_html("test-panel").endswith("v1</section>")
        assert len(renders) == 1
    finally:
        runtime.unregister_panel("test-panel")


async def test_another_domain_adds_an_activity_entry_live(state, server_loop):
    ws = communicator(f"/dashboard?v={state.version}")
    assert (await ws.connect())[0]
    worker = threading.Thread(
        target=runtime.add_feed_entry,
        args=("operation.started", "Run <b>1</b> started"),
        kwargs={"attrs": {"data-operation-id": "op-1"}, "link": "/api/operations/op-1"},
    )
    worker.start()
    worker.join()
    text = await ws.receive_from(timeout=5)
    assert 'hx-swap-oob="afterbegin:#activity-feed"' in text
    assert 'data-event="operation.started" data-operation-id="op-1"' in text
    assert "Run &lt;b&gt;1&lt;/b&gt; started" in text
    assert 'href="/api/operations/op-1"' in text
    await ws.disconnect()


def test_feed_entries_from_other_domains_share_the_fifty(state, collab):
    write_task(collab, "inbox/a.yaml", id="a")
    scanner = Scanner(collab)
    state.publish_board(scanner.scan())
    for i in range(60):
        runtime.add_feed_entry(
            "mcp.server.started", f"server {i}", attrs={"data-mcp-server": f"s{i}"}
        )
    assert len(state.feed) == 50
    _, messages = html.full_state_messages(state, TaskFilter())
    everything = "".join(messages)
    assert 'data-mcp-server="s59"' in everything and 'data-mcp-server="s9"' not in everything


@pytest.mark.parametrize(
    "attrs, link",
    [
        ({"onclick": "x"}, ""),
        ({"data-event": "x"}, ""),
        ({}, "javascript:alert(1)"),
        ({}, "//evil"),
    ],
)
def test_a_feed_entry_cannot_carry_script(state, attrs, link):
    with pytest.raises(ValueError):
        runtime.add_feed_entry("operation.started", "x", attrs=attrs, link=link)
