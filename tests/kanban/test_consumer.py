import pytest
from channels.testing import WebsocketCommunicator

from dashboard_project.asgi import application
from kanban import runtime
from kanban.scanner import Scanner
from kanban.state import BoardState

from ..factories import move, write_task


@pytest.fixture
def state(monkeypatch):
    fresh = BoardState()
    monkeypatch.setattr(runtime, "STATE", fresh)
    return fresh


def communicator(path="/dashboard", origin="http://127.0.0.1:8080"):
    return WebsocketCommunicator(
        application, path, headers=[(b"origin", origin.encode()), (b"host", b"127.0.0.1:8080")]
    )


async def publish(state, board):
    events, changed = state.publish_board(board)
    if changed:
        runtime.HUB.publish({"type": "board.update", "seq": state.seq})


async def test_it_sends_the_whole_board_on_connect(state, collab):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="First <b>task</b>")
    state.publish_board(Scanner(collab).scan())
    ws = communicator()
    connected, _ = await ws.connect()
    assert connected
    html = await ws.receive_from(timeout=5)
    assert 'id="board"' in html and 'hx-swap-oob="true"' in html
    assert 'data-task-id="t1"' in html
    assert "First &lt;b&gt;task&lt;/b&gt;" in html
    assert 'id="count-assigned">1<' in html
    await ws.disconnect()


async def test_a_page_that_saw_this_state_gets_no_resend(state, collab):
    state.publish_board(Scanner(collab).scan())
    ws = communicator(f"/dashboard?v={state.version}")
    assert (await ws.connect())[0]
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_a_move_pushes_the_card_in_its_new_lane_and_the_counts(state, collab):
    write_task(collab, "assigned/dev/t1.yaml", id="t1", title="One")
    scanner = Scanner(collab)
    before = scanner.scan()
    state.publish_board(before)
    ws = communicator(f"/dashboard?v={state.version}")
    assert (await ws.connect())[0]
    move(collab, "assigned/dev/t1.yaml", "done/dev/t1.yaml")
    await publish(
        state, scanner.refresh(before, ["assigned/dev/t1.yaml", "done/dev/t1.yaml"], [])[0]
    )
    html = await ws.receive_from(timeout=5)
    assert 'hx-swap-oob="delete"' in html  # the card leaves Assigned (its group, being empty)
    assert 'data-path="done/dev/t1.yaml"' in html
    assert 'id="count-done">1<' in html and 'id="count-assigned">0<' in html
    assert 'data-event="task.completed" data-task-id="t1"' in html
    await ws.disconnect()


async def test_a_filtered_viewer_does_not_get_cards_outside_its_filter(state, collab):
    write_task(collab, "inbox/keep.yaml", id="keep", agent="dev")
    scanner = Scanner(collab)
    before = scanner.scan()
    state.publish_board(before)
    ws = communicator(f"/dashboard?v={state.version}&agent=dev")
    assert (await ws.connect())[0]
    write_task(collab, "inbox/other.yaml", id="other", agent="ops")
    await publish(state, scanner.refresh(before, ["inbox/other.yaml"], [])[0])
    html = await ws.receive_from(timeout=5)
    assert 'data-task-id="other"' not in html.split("#activity-feed")[0]
    assert 'id="count-total">1<' in html and "of 2" in html
    await ws.disconnect()


async def test_a_client_that_missed_an_update_gets_it_with_the_next_one(state, collab):
    scanner = Scanner(collab)
    state.publish_board(scanner.scan())
    ws = communicator(f"/dashboard?v={state.version}")
    assert (await ws.connect())[0]
    write_task(collab, "inbox/a.yaml", id="a")
    state.publish_board(scanner.scan())  # its message is "lost"
    write_task(collab, "inbox/b.yaml", id="b")
    await publish(state, scanner.scan())
    html = await ws.receive_from(timeout=5)
    assert 'data-task-id="a"' in html and 'data-task-id="b"' in html
    await ws.disconnect()


async def test_a_client_further_behind_than_the_kept_changes_gets_the_whole_board(
    monkeypatch, collab
):
    state = BoardState(history_size=1)
    monkeypatch.setattr(runtime, "STATE", state)
    scanner = Scanner(collab)
    state.publish_board(scanner.scan())
    ws = communicator(f"/dashboard?v={state.version}")
    assert (await ws.connect())[0]
    write_task(collab, "inbox/a.yaml", id="a")
    state.publish_board(scanner.scan())  # its message is "lost", and so is its change
    write_task(collab, "inbox/b.yaml", id="b")
    await publish(state, scanner.scan())
    html = await ws.receive_from(timeout=5)
    assert 'id="board"' in html and 'data-task-id="a"' in html and 'data-task-id="b"' in html
    await ws.disconnect()


async def test_a_page_rendered_a_few_changes_ago_gets_only_those_changes(state, collab):
    scanner = Scanner(collab)
    state.publish_board(scanner.scan())
    page_version = state.version
    write_task(collab, "inbox/a.yaml", id="a")
    state.publish_board(scanner.scan())
    ws = communicator(f"/dashboard?v={page_version}")
    assert (await ws.connect())[0]
    html = await ws.receive_from(timeout=5)
    assert 'id="board"' not in html and 'data-task-id="a"' in html
    await ws.disconnect()


async def test_it_refuses_a_foreign_origin(state):
    ws = communicator(origin="http://evil.example.com")
    connected, _ = await ws.connect()
    assert not connected


async def test_the_activity_feed_grows_by_new_entries_and_keeps_fifty(state, collab):
    scanner = Scanner(collab)
    board = scanner.scan()
    state.publish_board(board)
    ws = communicator(f"/dashboard?v={state.version}")
    assert (await ws.connect())[0]
    messages = []
    for i in range(55):
        write_task(collab, f"inbox/t{i}.yaml", id=f"t{i}")
        board = scanner.refresh(board, [f"inbox/t{i}.yaml"], [])[0]
        await publish(state, board)
        messages.append(await ws.receive_from(timeout=5))
    assert 'id="feed-empty" hx-swap-oob="delete"' in messages[0]
    assert messages[1].count('data-event="task.created"') == 1  # only the new entry is sent
    assert 'id="ev-1" hx-swap-oob="delete"' in messages[50]  # the 51st pushes the 1st out
    assert len(state.feed) == 50
    await ws.disconnect()


async def test_a_new_agent_joins_the_agent_filter_live(state, collab):
    write_task(collab, "assigned/dev/a.yaml", id="a")
    scanner = Scanner(collab)
    board = scanner.scan()
    state.publish_board(board)
    ws = communicator(f"/dashboard?v={state.version}")
    assert (await ws.connect())[0]
    write_task(collab, "assigned/ops/b.yaml", id="b")
    await publish(state, scanner.refresh(board, ["assigned/ops/b.yaml"], [])[0])
    html = await ws.receive_from(timeout=5)
    assert 'id="filter-agent"' in html and '<option value="ops"' in html
    await ws.disconnect()
