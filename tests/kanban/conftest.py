"""Fixtures for the board's tests: a real watcher on a real tree, and what it published."""

import threading
import time

import pytest

from kanban.watcher import BoardWatcher


class Recorder:
    def __init__(self):
        self.boards = []
        self.modes = []
        self.changed = threading.Condition()

    def on_board(self, board, *_):
        with self.changed:
            self.boards.append(board)
            self.changed.notify_all()

    def on_mode(self, mode, waiting):
        self.modes.append((mode, waiting))

    def wait_for(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (self.boards and predicate(self.boards[-1])):
                left = deadline - time.monotonic()
                assert left > 0, "the board never got there"
                self.changed.wait(left)
        return self.boards[-1]


@pytest.fixture
def watch(request, caplog):
    watchers = []

    def start(root, **kwargs):
        recorder = Recorder()
        watcher = BoardWatcher(root, recorder.on_board, recorder.on_mode, **kwargs)
        watcher.start()
        assert watcher.wait_ready(10)
        watchers.append(watcher)
        return watcher, recorder

    yield start
    for w in watchers:
        w.stop()
    # A crash would be hidden by the restart and its full rescan: none may happen.
    assert "the watcher failed" not in caplog.text
