import os
from pathlib import Path

import pytest

from kanban.tasks import Problem, Task, classify, parse_dependencies, parse_file

from ..factories import CORPUS, corpus_like_tree, write_text


def parse(root: Path, relpath: str, text: str | bytes) -> Task | Problem:
    write_text(root, relpath, text)
    return parse_file(root, relpath)


def test_the_lane_comes_from_the_folder_not_the_status(tmp_path):
    task = parse(tmp_path, "done/backend-dev/x.yaml", "id: x\nstatus: assigned\nagent: other\n")
    assert isinstance(task, Task)
    assert (task.lane, task.agent, task.status) == ("done", "backend-dev", "assigned")


def test_a_file_directly_under_assigned_uses_its_agent_field(tmp_path):
    task = parse(tmp_path, "assigned/x.yaml", "id: x\nagent: scribe\n")
    assert task.agent == "scribe"
    task = parse(tmp_path, "done/y.yaml", "id: y\n")
    assert task.agent == "unassigned"


def test_deeper_folders_count_for_the_agent(tmp_path):
    task = parse(tmp_path, "done/curator/2026/02/x.yaml", "id: x\n")
    assert (task.lane, task.agent) == ("done", "curator")


def test_missing_id_and_title_fall_back_to_stem_and_placeholder(tmp_path):
    task = parse(tmp_path, "inbox/2026-01-01-some-task.yml", "status: new\n")
    assert task.id == "2026-01-01-some-task"
    assert task.title == "(untitled task)" and not task.has_title
    assert not task.has_agent


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("HIGH", "high"), ("Critical", "critical"), ("low", "low"), ("", "normal"), ("P1", "P1")],
)
def test_priority_is_reported_in_lower_case(tmp_path, raw, expected):
    task = parse(tmp_path, "inbox/x.yaml", f"id: x\npriority: '{raw}'\n")
    assert task.priority == expected


def test_estimated_hours_keep_numbers_and_ranges(tmp_path):
    assert parse(tmp_path, "inbox/a.yaml", "estimated_hours: 3.5\n").estimated_hours == 3.5
    assert parse(tmp_path, "inbox/b.yaml", "estimated_hours: '1-2'\n").estimated_hours == "1-2"


def test_every_dependency_shape_yields_ids():
    assert [d.task_id for d in parse_dependencies(["a", "b.c"])] == ["a", "b.c"]
    deps = parse_dependencies(
        [
            {"task_id": "a", "type": "prerequisite", "description": "x"},
            {"type": "parallel", "description": "free"},
        ]
    )
    assert [(d.task_id, d.kind) for d in deps] == [("a", "prerequisite"), (None, "parallel")]
    deps = parse_dependencies(
        {"prerequisites": ["Hugo installed locally", "mfd-1.2"], "related": "ADR-1"}
    )
    assert [(d.task_id, d.kind, d.description) for d in deps] == [
        (None, "prerequisites", "Hugo installed locally"),
        ("mfd-1.2", "prerequisites", ""),
        ("ADR-1", "related", ""),
    ]
    assert parse_dependencies(None) == ()


def test_yaml_timestamps_are_kept_as_text_friendly_values(tmp_path):
    task = parse(tmp_path, "inbox/x.yaml", "id: x\ncreated: 2026-02-09T20:35:00Z\n")
    assert "created" in task.data


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe\x00bad", "not UTF-8"),
        ("- a\n- b\n", "is a list"),
        ("just a string\n", "is a string"),
        ("42\n", "is a number"),
        ("", "empty file"),
        ("   \n# only a comment\n", "empty file"),
        ("id: x\ntitle: [unclosed\n", "invalid YAML"),
        ("!!python/object/apply:os.system ['echo hacked']\n", "invalid YAML"),
        ("---\nid: a\n---\nid: b\n", "invalid YAML"),
    ],
)
def test_hostile_files_become_problems_with_a_one_line_reason(tmp_path, content, reason):
    result = parse(tmp_path, "inbox/bad.yaml", content)
    assert isinstance(result, Problem)
    assert reason in result.error
    assert "\n" not in result.error


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i, prev in zip("bcdefghi", "abcdefgh", strict=True):
        bomb += f"{i}: &{i} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    result = parse(tmp_path, "inbox/bomb.yaml", bomb)
    assert isinstance(result, Problem) and "expand too far" in result.error


def test_a_file_over_one_mebibyte_is_refused(tmp_path):
    result = parse(tmp_path, "inbox/big.yaml", "description: '" + "x" * (5 * 1024 * 1024) + "'\n")
    assert isinstance(result, Problem) and "1 MiB" in result.error


def test_a_symlink_out_of_the_tree_is_not_followed(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("id: secret\ntitle: Secret\n")
    collab = tmp_path / "collab"
    (collab / "inbox").mkdir(parents=True)
    os.symlink(outside, collab / "inbox" / "link.yaml")
    result = parse_file(collab, "inbox/link.yaml")
    assert isinstance(result, Problem) and "outside" in result.error


def test_a_symlink_inside_the_tree_is_followed(tmp_path):
    write_text(tmp_path, "assigned/a/real.yaml", "id: real\n")
    os.symlink(tmp_path / "assigned/a/real.yaml", tmp_path / "inbox.yaml.link")
    (tmp_path / "inbox").mkdir()
    os.symlink(tmp_path / "assigned/a/real.yaml", tmp_path / "inbox" / "link.yaml")
    assert parse_file(tmp_path, "inbox/link.yaml").id == "real"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_an_unreadable_file_is_a_problem(tmp_path):
    path = write_text(tmp_path, "inbox/locked.yaml", "id: x\n")
    path.chmod(0)
    result = parse_file(tmp_path, "inbox/locked.yaml")
    assert isinstance(result, Problem) and "permission" in result.error


def test_a_fifo_named_like_a_task_is_a_problem_not_a_hang(tmp_path):
    (tmp_path / "inbox").mkdir()
    os.mkfifo(tmp_path / "inbox" / "pipe.yaml")
    result = parse_file(tmp_path, "inbox/pipe.yaml")
    assert isinstance(result, Problem) and "regular file" in result.error


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("inbox/a.yaml", ("inbox", None)),
        ("assigned/x/a.yml", ("assigned", "x")),
        ("done/x/2026/a.yaml", ("done", "x")),
        ("archive/a.yaml", None),
        ("fridge/x/a.yaml", None),
        ("backups/t/x/a.yaml", None),
        ("inbox/notes.md", None),
        ("inbox/.a.yaml", None),
        ("inbox/a.yaml~", None),
        ("inbox/a.yaml.swp", None),
        ("inbox/a.tmp", None),
        ("assigned/.git/a.yaml", None),
    ],
)
def test_only_task_paths_are_classified_as_tasks(path, expected):
    assert classify(path) == expected


def test_the_corpus_like_fixture_parses_every_shape(tmp_path):
    collab = corpus_like_tree(tmp_path)
    from kanban.scanner import Scanner

    board = Scanner(collab).scan()
    assert board.counts == {"inbox": 3, "assigned": 4, "done": 3, "total": 10}
    assert [p.path for p in board.problems.values()] == ["inbox/2026-02-12T1102-broken.yaml"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside this checkout")
def test_the_real_corpus_loads_exactly():
    from kanban.scanner import Scanner

    board = Scanner(CORPUS).scan()
    assert board.counts == {"inbox": 4, "assigned": 47, "done": 66, "total": 117}
    assert list(board.problems) == ["inbox/2026-02-12T1102-manager-mike-task-assignment.yaml"]
    assert not any(
        t.path.startswith(("archive", "fridge", "backups")) for t in board.tasks.values()
    )
