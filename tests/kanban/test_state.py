import json

from kanban.scanner import Scanner
from kanban.state import BoardState

from ..factories import move, write_task, write_text


def content(board):
    return {p: t.content_key() for p, t in board.tasks.items()}, dict(board.problems)


def test_a_worker_fed_a_snapshot_then_batches_keeps_the_same_board_and_feed(collab):
    write_task(collab, "assigned/dev/a.yaml", id="a", title="A")
    scanner = Scanner(collab)
    watcher_side = BoardState()
    watcher_side.publish_board(scanner.scan())
    worker = BoardState()
    # everything crosses as JSON, as it would through Redis
    worker.load_snapshot(json.loads(json.dumps(watcher_side.snapshot_message(), default=str)))
    assert content(worker.board) == content(watcher_side.board)

    board = watcher_side.board
    steps = [
        lambda: move(collab, "assigned/dev/a.yaml", "done/dev/a.yaml"),
        lambda: write_task(collab, "inbox/b.yaml", id="b", title="B"),
        lambda: write_text(collab, "inbox/c.yaml", "id: [broken\n"),
    ]
    for step in steps:
        step()
        board = scanner.scan(board)
        events, _ = watcher_side.publish_board(board)
        message = json.loads(json.dumps(watcher_side.batch_message(events), default=str))
        assert worker.apply_batch(message)
        assert content(worker.board) == content(watcher_side.board)
    assert [e.event.kind for e in worker.feed] == [e.event.kind for e in watcher_side.feed]


def test_a_worker_that_missed_a_batch_asks_for_a_snapshot(collab):
    scanner = Scanner(collab)
    watcher_side = BoardState()
    watcher_side.publish_board(scanner.scan())
    worker = BoardState()
    worker.load_snapshot(watcher_side.snapshot_message())
    write_task(collab, "inbox/a.yaml", id="a")
    watcher_side.publish_board(scanner.scan())  # this batch is lost
    write_task(collab, "inbox/b.yaml", id="b")
    events, _ = watcher_side.publish_board(scanner.scan())
    assert not worker.apply_batch(watcher_side.batch_message(events))
