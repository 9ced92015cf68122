import random

import yaml

from kanban import demo


def lane_counts(collab):
    return {
        lane: sum(1 for p in (collab / lane).rglob("*.yaml") if "broken" not in p.name)
        for lane in ("inbox", "assigned", "done")
    }


def test_the_demo_keeps_flowing_instead_of_drifting_into_done(tmp_path):
    collab, db = demo.create_workspace(tmp_path)
    sim = demo.Simulator(collab, db)
    sim.rng = random.Random(3)
    seen = []
    for step in range(400):  # about 13 minutes of demo at one step every 2 s
        sim.step()
        if step >= 100:
            seen.append(lane_counts(collab))
    assert all(c["done"] <= demo.MAX_DONE for c in seen)
    assert min(c["inbox"] for c in seen) >= 1
    assert min(c["assigned"] for c in seen) >= 1
    # Work keeps arriving and finishing until the end, not only at the start.
    last = seen[-60:]
    assert len({c["inbox"] for c in last}) > 1
    assert len({c["assigned"] for c in last}) > 1


def test_new_demo_tasks_have_distinct_titles(tmp_path):
    collab, db = demo.create_workspace(tmp_path)
    before = set((collab / "inbox").glob("*.yaml"))
    sim = demo.Simulator(collab, db)
    sim.rng = random.Random(5)
    for _ in range(60):
        sim.create()
    new = set((collab / "inbox").glob("*.yaml")) - before
    titles = [yaml.safe_load(p.read_text())["title"] for p in new]
    assert len(titles) == 60
    assert len(set(titles)) == 60
