from pathlib import Path

import pytest

from kanban import runtime
from kanban.board import Board
from kanban.scanner import Scanner


@pytest.fixture
def collab(tmp_path):
    root = tmp_path / "collab"
    for lane in ("inbox", "assigned", "done"):
        (root / lane).mkdir(parents=True)
    return root


@pytest.fixture
def show(settings):
    """Make a collab dir the live board (and the place raw files are read from)."""
    saved = runtime.STATE.board

    def _show(root: Path) -> Board:
        settings.DASHBOARD_COLLAB_DIR = root
        runtime.STATE.board = Scanner(root).scan()
        return runtime.STATE.board

    yield _show
    runtime.STATE.board = saved
