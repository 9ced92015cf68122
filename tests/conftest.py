import pytest


@pytest.fixture
def collab(tmp_path):
    root = tmp_path / "collab"
    for lane in ("inbox", "assigned", "done"):
        (root / lane).mkdir(parents=True)
    return root
