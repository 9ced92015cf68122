import json
import os
import shutil
import time

from telemetry.operations.tailer import Tailer


def event(i: int, **extra) -> bytes:
    return (
        json.dumps({"event": "operation.progress", "operation_id": f"o{i}", **extra}) + "\n"
    ).encode()


def append(path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def texts(lines) -> list[str]:
    return [json.loads(line.data)["operation_id"] for line in lines]


def test_it_returns_appended_lines_with_their_file_and_number(tmp_path):
    log = tmp_path / "a.jsonl"
    append(log, event(1))
    tailer = Tailer(tmp_path)
    assert texts(tailer.start()) == ["o1"]
    append(log, event(2) + event(3))
    lines = tailer.poll()
    assert texts(lines) == ["o2", "o3"]
    assert [(line.file, line.number) for line in lines] == [("a.jsonl", 2), ("a.jsonl", 3)]
    assert tailer.poll() == []


def test_a_half_written_last_line_waits_for_its_newline(tmp_path):
    log = tmp_path / "a.jsonl"
    tailer = Tailer(tmp_path)
    tailer.start()
    whole = event(1)
    append(log, whole[:10])
    assert tailer.poll() == []
    append(log, whole[10:])
    assert texts(tailer.poll()) == ["o1"]


def test_a_rotated_file_is_finished_by_its_inode_and_the_new_one_read_from_the_start(tmp_path):
    log = tmp_path / "x.jsonl"
    append(log, event(1))
    tailer = Tailer(tmp_path, grace_s=0.2)
    tailer.start()
    with open(log, "ab") as writer:  # a producer still holding the old file
        os.rename(log, tmp_path / "x.jsonl.1")
        append(log, event(3))
        writer.write(event(2))
        writer.flush()
        assert sorted(texts(tailer.poll())) == ["o2", "o3"]
        writer.write(event(4))
    assert texts(tailer.poll()) == ["o4"]  # still followed within the grace period
    time.sleep(0.3)
    tailer.poll()
    assert len(tailer._files) == 1  # the old one is closed after the grace period


def test_a_truncated_file_is_read_again_from_the_start(tmp_path):
    log = tmp_path / "a.jsonl"
    append(log, event(1) + event(2))
    tailer = Tailer(tmp_path)
    tailer.start()
    log.write_bytes(event(5))  # truncate and write less than before
    lines = tailer.poll()
    assert texts(lines) == ["o5"] and lines[0].number == 1


def test_a_missing_directory_is_waited_for_and_a_file_appearing_later_is_read_whole(tmp_path):
    folder = tmp_path / "events"
    tailer = Tailer(folder)
    assert tailer.start() == [] and tailer.poll() == [] and tailer.waiting
    folder.mkdir()
    append(folder / "late.jsonl", event(1) + event(2))
    assert texts(tailer.poll()) == ["o1", "o2"] and not tailer.waiting


def test_a_directory_removed_and_made_again_is_followed(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    append(folder / "a.jsonl", event(1))
    tailer = Tailer(folder, grace_s=0)
    tailer.start()
    shutil.rmtree(folder)
    assert tailer.poll() == [] and tailer.waiting
    folder.mkdir()
    append(folder / "a.jsonl", event(7))
    assert texts(tailer.poll()) == ["o7"]


def test_only_jsonl_files_are_read_and_nothing_is_written(tmp_path):
    append(tmp_path / "a.jsonl", event(1))
    append(tmp_path / "notes.txt", b"hello\n")
    append(tmp_path / ".hidden.jsonl", event(9))
    before = sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in tmp_path.iterdir())
    tailer = Tailer(tmp_path)
    assert texts(tailer.start()) == ["o1"]
    tailer.poll()
    tailer.close()
    assert (
        sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in tmp_path.iterdir())
        == before
    )


def test_a_line_over_64_kib_is_skipped_and_listed_with_its_line_number(tmp_path):
    log = tmp_path / "a.jsonl"
    tailer = Tailer(tmp_path)
    tailer.start()
    append(log, event(1) + event(2, output="x" * 70_000) + event(3))
    assert texts(tailer.poll()) == ["o1", "o3"]
    assert tailer.problems.as_json() == [{"path": "a.jsonl:2", "error": "line over 64 KiB skipped"}]
    # An overlong line written in pieces is skipped too, without holding it in memory.
    append(log, b'{"event": "' + b"y" * 40_000)
    tailer.poll()
    append(log, b"y" * 40_000)
    tailer.poll()
    assert tailer._files and all(len(t.buffer) <= 64 * 1024 for t in tailer._files.values())
    append(log, b'"}\n' + event(4))
    assert texts(tailer.poll()) == ["o4"]
    assert tailer.problems.as_json()[0]["path"] == "a.jsonl:4"


def test_the_problem_list_is_bounded(tmp_path):
    tailer = Tailer(tmp_path)
    tailer.start()
    append(tmp_path / "a.jsonl", (b"z" * 70_000 + b"\n") * 60)
    for _ in range(30):
        tailer.poll()
    assert len(tailer.problems.as_json()) == 50 and tailer.problems.total == 60


def test_start_reads_back_only_the_tail_of_a_huge_log_and_can_search_further_back(tmp_path):
    log = tmp_path / "big.jsonl"
    start = event(0).replace(b"operation.progress", b"operation.started")
    with open(log, "wb") as f:  # a sparse gigabyte: reading it all would take seconds
        f.truncate(1024**3 - 32 * 1024**2)
        f.seek(0, 2)
        f.write(b"\n" + start)
        f.truncate(1024**3)
        f.seek(0, 2)
        f.write(b"\n" + event(1) + event(2))
    tailer = Tailer(tmp_path, read_back_bytes=256 * 1024)
    lines = tailer.start()
    (tracked,) = tailer._files.values()
    assert tracked.read_back_from >= 1024**3 - 256 * 1024  # read the tail only
    assert texts(lines) == ["o1", "o2"] and lines[0].number is None
    found = []
    tailer.scan_back([b"operation.started"], lambda line: found.append(line) or True)
    assert texts(found) == ["o0"] and found[0].offset == 1024**3 - 32 * 1024**2 + 1
    append(log, event(3))
    assert texts(tailer.poll()) == ["o3"]
