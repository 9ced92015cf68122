"""A generated board of 10,000 task files (70 % done, a dozen agents), end to end."""

import json
import os
import sys
import time
import urllib.request

import pytest

from ..server import REPO, DashboardProcess

sys.path.insert(0, str(REPO / "bench"))
from gen_tasks import generate  # noqa: E402


@pytest.fixture(scope="module")
def big_board(tmp_path_factory):
    root = tmp_path_factory.mktemp("big") / "collaboration"
    generate(root, tasks=10_000, agents=12, done_share=0.7, seed=3)
    return root


@pytest.fixture(scope="module")
def server(big_board, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "t.db"
    with DashboardProcess("--collab-dir", str(big_board), "--telemetry-db", str(db)) as running:
        yield running


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_a_ten_thousand_task_board_serves_a_bounded_page_and_stays_live(big_board, server):
    health = json.loads(fetch(server.url + "health"))
    assert health["tasks"] == 10_000
    counts = json.loads(fetch(server.url + "api/tasks"))["counts"]
    assert counts["done"] == 7_000
    page = fetch(server.url)
    assert len(page) < 1_000_000, f"the board page is {len(page):,} bytes"
    assert page.count(b'class="card ') < 1_000
    assert b"Show all" in page
    # a move is still picked up
    done_dir = next(p for p in (big_board / "done").iterdir() if p.is_dir())
    victim = next(done_dir.glob("*.yaml"))
    target = big_board / "inbox" / victim.name
    os.rename(victim, target)
    deadline = time.monotonic() + 5
    while True:
        tasks = json.loads(fetch(server.url + "api/tasks?q=" + urllib.request.quote(victim.stem)))[
            "tasks"
        ]
        if any(t["lane"] == "inbox" for t in tasks):
            break
        assert time.monotonic() < deadline, "the move never showed"
        time.sleep(0.05)


def test_show_all_lists_every_card_of_an_agent(big_board, server):
    tasks = json.loads(fetch(server.url + "api/tasks"))["tasks"]
    agent = sorted(t["agent"] for t in tasks if t["lane"] == "done")[0]
    expected = sum(1 for t in tasks if t["lane"] == "done" and t["agent"] == agent)
    assert expected > 100
    page = fetch(server.url + f"lanes/done/?agent={agent}")
    assert page.count(b'class="card ') == expected
