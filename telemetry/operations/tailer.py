"""Follow every `*.jsonl` file in a directory, read-only, as a log shipper does.

Pure standard library. `poll()` returns the complete new lines since the last call:
- offsets are kept in memory, per file, keyed by (device, inode): nothing is ever written in the
  directory;
- rotation (`x.jsonl` renamed `x.jsonl.1`, a new `x.jsonl` begun): the old file is finished by
  its inode (read for `grace_s` more after its name went, since a writer may still hold it);
- truncation (size below our offset): read again from the start;
- a last line without its newline is held until the newline comes;
- a file appearing later is read from its start; a missing directory is waited for; a directory
  replaced or removed: open files are finished, then the new files are read from their start;
- a line over `max_line` bytes is skipped and recorded as a problem (file and line number).

Start-up (`start()`) reads back only the tail of each file, at most `read_back_bytes` in all,
so a 1 GB log does not delay anything: what an operation said before that window is lost
unless `scan_back` finds it (the service uses it to find the start events of operations still
running). That is the trade-off: recent history and every running operation survive a restart;
old finished operations in the middle of a huge log do not.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("telemetry.operations")

MAX_LINE = 64 * 1024
CHUNK = 4 * 1024 * 1024  # bytes read per file per poll: a burst never starves the others
READ_BACK = 2 * 1024 * 1024  # bytes read back at start, all files together
SCAN_BACK = 32 * 1024 * 1024  # bytes searched further back for running operations' starts
GRACE_S = 2.0
PROBLEMS = 50
PATTERN = ".jsonl"
ROTATED = ".jsonl.1"


@dataclass(frozen=True)
class Line:
    file: str  # name inside the directory
    number: int | None  # 1-based, None when read back from the middle of a file
    offset: int  # byte offset of the line's start
    data: bytes

    def where(self) -> str:
        return f"{self.file}:{self.number}" if self.number else f"{self.file} at byte {self.offset}"


@dataclass(frozen=True)
class Problem:
    path: str
    error: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error}


class ProblemLog:
    """The last PROBLEMS problems (file name and line number, and why)."""

    def __init__(self, size: int = PROBLEMS) -> None:
        self.items: deque[Problem] = deque(maxlen=size)
        self.total = 0

    def add(self, path: str, error: str) -> None:
        self.total += 1
        self.items.append(Problem(path, error))
        log.warning("operations: %s: %s", path, error)

    def as_json(self) -> list[dict[str, str]]:
        return [p.as_json() for p in reversed(self.items)]


@dataclass
class _Tracked:
    name: str
    key: tuple[int, int]
    fd: int
    offset: int = 0
    buffer: bytes = b""
    line_no: int | None = 0
    skipping: bool = False  # inside a line already over the limit (or cut by the read-back)
    quiet_skip: bool = False  # the cut line of a read-back is not a problem
    gone_since: float | None = None
    read_back_from: int = 0


@dataclass
class Tailer:
    directory: Path
    max_line: int = MAX_LINE
    chunk: int = CHUNK
    read_back_bytes: int = READ_BACK
    grace_s: float = GRACE_S
    problems: ProblemLog = field(default_factory=ProblemLog)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self._files: dict[tuple[int, int], _Tracked] = {}
        self._rotated: dict[tuple[int, int], tuple[str, int]] = {}  # read back, not followed
        self.waiting = False  # the directory does not exist (yet)

    # -- start -----------------------------------------------------------------------------
    def start(self) -> list[Line]:
        """Open what is there, and read back the tail of each file (rotated ones too)."""
        names = self._names((PATTERN, ROTATED))
        if not names:
            return []
        # Newest first gets the budget first; the lines are returned oldest file first.
        stats = []
        for name in names:
            try:
                stats.append((os.stat(self.directory / name).st_mtime, name))
            except OSError:
                continue
        stats.sort(reverse=True)
        budget = self.read_back_bytes
        share = max(MAX_LINE, budget // max(1, len(stats)))
        batches: list[tuple[float, list[Line]]] = []
        for mtime, name in stats:
            if budget <= 0:
                break
            rotated = name.endswith(ROTATED)
            try:
                fd = os.open(self.directory / name, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                self.problems.add(name, f"cannot be read: {exc.strerror}")
                continue
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino)
            if key in self._files:
                os.close(fd)
                continue
            size = st.st_size
            begin = max(0, size - min(share, budget))
            budget -= size - begin
            tracked = _Tracked(name, key, fd, offset=begin, read_back_from=begin)
            if begin > 0:
                tracked.line_no = None
                # Drop the partial line we landed in (unless we landed on a line start).
                if os.pread(fd, 1, begin - 1) != b"\n":
                    tracked.skipping = tracked.quiet_skip = True
            lines = self._read(tracked, limit=size - begin)
            if rotated:
                os.close(fd)  # history only: rotated files are not followed
                self._rotated[key] = (name, begin)
            else:
                self._files[key] = tracked
            batches.append((mtime, lines))
        batches.sort(key=lambda b: b[0])
        return [line for _, lines in batches for line in lines]

    def scan_back(
        self, needles: Iterable[bytes], found: Callable[[Line], bool], budget: int = SCAN_BACK
    ) -> None:
        """Search what `start()` skipped, newest bytes first, for lines holding a needle.

        `found(line)` is called for each; scanning stops when it returns True or when `budget`
        bytes have been searched.
        """
        needles = tuple(needles)
        regions = [(t.name, t.fd, t.read_back_from, False) for t in self._files.values()]
        for name, begin in self._rotated.values():
            regions.append((name, -1, begin, True))
        for name, fd, end, rotated in regions:
            if budget <= 0 or end <= 0:
                continue
            opened = -1
            try:
                if rotated:
                    fd = opened = os.open(self.directory / name, os.O_RDONLY | os.O_CLOEXEC)
                budget, done = self._scan_file(name, fd, end, needles, found, budget)
            except OSError:
                continue
            finally:
                if opened >= 0:
                    os.close(opened)
            if done:
                return

    def _scan_file(
        self,
        name: str,
        fd: int,
        end: int,
        needles: tuple[bytes, ...],
        found: Callable[[Line], bool],
        budget: int,
    ) -> tuple[int, bool]:
        pos, carry = end, b""
        while pos > 0 and budget > 0:
            size = min(self.chunk, pos)
            pos -= size
            budget -= size
            data = os.pread(fd, size, pos) + carry
            base = pos
            if pos > 0:
                cut = data.find(b"\n")
                if cut < 0:
                    carry = data if len(data) <= self.max_line else b""
                    continue
                carry, data, base = data[:cut], data[cut + 1 :], pos + cut + 1
            hits: set[int] = set()
            for needle in needles:
                at = data.find(needle)
                while at >= 0:
                    start = data.rfind(b"\n", 0, at) + 1
                    hits.add(start)
                    stop = data.find(b"\n", at)
                    at = data.find(needle, stop) if stop >= 0 else -1
            for start in sorted(hits, reverse=True):
                stop = data.find(b"\n", start)
                text = data[start : stop if stop >= 0 else len(data)]
                if len(text) <= self.max_line and found(Line(name, None, base + start, text)):
                    return budget, True
        return budget, False

    # -- follow ----------------------------------------------------------------------------
    def poll(self) -> list[Line]:
        now = self.clock()
        present: set[tuple[int, int]] = set()
        for name in self._names((PATTERN,)):
            try:
                st = os.stat(self.directory / name)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            tracked = self._files.get(key)
            if tracked is not None and os.fstat(tracked.fd).st_nlink == 0:
                # The inode number was reused by a new file after the old one was deleted.
                self._close(tracked)
                tracked = None
            if tracked is None:
                tracked = self._open(name)
                if tracked is None:
                    continue
                key = tracked.key
            tracked.name, tracked.gone_since = name, None
            present.add(key)
        lines: list[Line] = []
        for tracked in list(self._files.values()):
            if tracked.key not in present and tracked.gone_since is None:
                tracked.gone_since = now  # rotated or removed: finish it by its inode
            lines.extend(self._read(tracked))
            if tracked.gone_since is not None and now - tracked.gone_since > self.grace_s:
                self._close(tracked)
        return lines

    def close(self) -> None:
        for tracked in list(self._files.values()):
            self._close(tracked)

    def _names(self, suffixes: tuple[str, ...]) -> list[str]:
        try:
            with os.scandir(self.directory) as entries:
                names = [
                    e.name
                    for e in entries
                    if e.name.endswith(suffixes) and not e.name.startswith(".")
                ]
        except (FileNotFoundError, NotADirectoryError):
            if not self.waiting:
                log.info("operations: waiting for %s to appear", self.directory)
            self.waiting = True
            return []
        except OSError as exc:
            log.warning("operations: cannot list %s: %s", self.directory, exc)
            return []
        self.waiting = False
        return sorted(names)

    def _open(self, name: str) -> _Tracked | None:
        try:
            fd = os.open(self.directory / name, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        if key in self._files:  # replaced between the stat and the open
            os.close(fd)
            return self._files[key]
        tracked = self._files[key] = _Tracked(name, key, fd)
        return tracked

    def _close(self, tracked: _Tracked) -> None:
        self._files.pop(tracked.key, None)
        with contextlib.suppress(OSError):
            os.close(tracked.fd)

    def _read(self, t: _Tracked, limit: int | None = None) -> list[Line]:
        size = os.fstat(t.fd).st_size
        if size < t.offset:
            log.info("operations: %s was truncated; reading it from the start", t.name)
            t.offset, t.buffer, t.line_no, t.skipping = 0, b"", 0, False
        if size == t.offset:
            return []
        data = os.pread(t.fd, min(size - t.offset, limit or self.chunk), t.offset)
        start = t.offset - len(t.buffer)
        t.offset += len(data)
        parts = (t.buffer + data).split(b"\n")
        t.buffer = parts.pop()
        lines = []
        for part in parts:
            if t.line_no is not None:
                t.line_no += 1
            if t.skipping:
                if not t.quiet_skip:
                    self._too_long(t, start)
                t.skipping = t.quiet_skip = False
            elif len(part) > self.max_line:
                self._too_long(t, start)
            elif part.strip():
                lines.append(Line(t.name, t.line_no, start, part))
            start += len(part) + 1
        if len(t.buffer) > self.max_line:
            t.skipping, t.buffer = True, b""
        return lines

    def _too_long(self, t: _Tracked, offset: int) -> None:
        where = f"{t.name}:{t.line_no}" if t.line_no else f"{t.name} at byte {offset}"
        self.problems.add(where, f"line over {self.max_line // 1024} KiB skipped")
