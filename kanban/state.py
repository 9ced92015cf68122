"""The live board as web workers see it: the current snapshot, a sequence number and the feed.

In one process the watcher feeds it boards straight from the disk (`publish_board`). A web
worker in another process fills it from channel-layer messages instead: a snapshot, then
batches of events (`load_snapshot`, `apply_batch`). Readers only ever see whole boards.

Every change gets the next sequence number and is kept for a while in `history` (the board
before and after, the paths that changed, the feed before and after), so the web layer can
render "from seq a to seq b" once and give the same bytes to every viewer that was at `a`.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from .board import EMPTY, Board
from .events import (
    Event,
    apply_events,
    board_from_message,
    board_to_message,
    diff,
    history_events,
)
from .scanner import LIMIT_KEY

log = logging.getLogger(__name__)

FEED_SIZE = 50
# A watcher whose loop has not come round for this long is stuck (a blocking read, say).
WATCHER_SILENT_SECONDS = 20.0
HISTORY_SIZE = 256  # changes kept; a viewer further behind than this gets the whole state


@dataclass(frozen=True)
class FeedItem:
    """An activity entry from another domain (an operation, an MCP server).

    `attrs` are extra `data-*` attributes of the entry (e.g. `data-operation-id`), `link` an
    optional URL the text links to.
    """

    kind: str
    text: str
    attrs: tuple[tuple[str, str], ...] = ()
    link: str = ""
    at: float = field(default_factory=time.time, compare=False)


@dataclass
class FeedEntry:
    event: Event | FeedItem
    number: int = 0  # increasing; pages know which entries they already have
    html: str | None = field(default=None, repr=False)  # rendered once, by the web layer


@dataclass(frozen=True)
class Change:
    """One step of the live state: what a page at `seq - 1` must redraw to be at `seq`."""

    seq: int
    old: Board
    new: Board
    paths: tuple[str, ...]  # task and problem paths that may look different
    feed_before: int  # the newest feed entry's number before this change
    feed_after: int
    feed_reset: bool = False  # the feed was rebuilt (history added): pages redraw it whole


@dataclass(frozen=True)
class Snapshot:
    seq: int
    board: Board
    feed_number: int


class BoardState:
    def __init__(self, feed_size: int = FEED_SIZE, history_size: int = HISTORY_SIZE) -> None:
        self.board: Board = EMPTY
        self.seq = 0
        # Tells a reconnecting page whether it saw this very server's state.
        self.boot_id = secrets.token_hex(4)
        self.feed: deque[FeedEntry] = deque(maxlen=feed_size)
        self.history: deque[Change] = deque(maxlen=history_size)
        self.watcher = "stopped"  # running / polling / stopped
        self.waiting_for = ""  # the collab dir, while it does not exist
        self.watcher_seen = 0.0  # time.time() of the watcher's last completed cycle
        self.ready = False
        self.feed_number = 0
        self.history_seeded = False
        # Called with every change's batch message, under the lock, so in sequence order: a
        # watcher process hands them to the Redis relay (`kanban.roles.watcher`).
        self.on_record: Callable[[dict[str, Any]], None] | None = None
        self._lock = threading.Lock()

    def note_watcher(self, mode: str, waiting: str, now: float | None = None) -> None:
        """The watcher's mode, reported again each cycle: its heartbeat."""
        self.watcher = mode
        self.waiting_for = waiting
        self.watcher_seen = time.time() if now is None else now

    def watcher_health(self, now: float | None = None) -> dict[str, Any]:
        """/health's watcher fields: a watcher silent for too long counts as stopped."""
        now = time.time() if now is None else now
        age = now - self.watcher_seen if self.watcher_seen else None
        stuck = age is not None and age > WATCHER_SILENT_SECONDS
        return {
            "watcher": "stopped" if stuck else self.watcher,
            "watcher_last_cycle_s": round(age, 1) if age is not None else None,
            "files_limited": LIMIT_KEY in self.board.problems,
        }

    def current(self) -> tuple[int, Board]:
        """The sequence number and the board it belongs to, read together."""
        with self._lock:
            return self.seq, self.board

    def snapshot(self) -> Snapshot:
        """The sequence number, its board and its newest feed entry, read together."""
        with self._lock:
            return Snapshot(self.seq, self.board, self.feed_number)

    def changes_between(self, seq_from: int, seq_to: int) -> list[Change] | None:
        """The changes leading from `seq_from` to `seq_to`, or None if they are no longer kept."""
        with self._lock:
            steps = [c for c in self.history if seq_from < c.seq <= seq_to]
        if len(steps) != seq_to - seq_from:
            return None
        return steps

    def feed_entries(self, after: int, upto: int) -> list[FeedEntry]:
        """Entries numbered in (after, upto], newest first (those still kept)."""
        with self._lock:
            return [e for e in self.feed if after < e.number <= upto]

    @property
    def version(self) -> str:
        return f"{self.boot_id}-{self.seq}"

    def publish_board(
        self,
        board: Board,
        touched: AbstractSet[str] | None = None,
        previous: Board | None = None,
    ) -> tuple[list[Event], bool]:
        """Make `board` current: the events leading to it, and whether viewers must hear.

        `touched` (the paths that may differ from `previous`) spares a full comparison of
        two boards of 10,000 tasks when `previous` is indeed the current board.
        """
        with self._lock:
            paths = touched if previous is self.board else None
            # The first board is a snapshot, not a burst of "created" news.
            events = diff(self.board, board, paths=paths) if self.ready else []
            changed = bool(events) or board.problems != self.board.problems or not self.ready
            old = self.board
            # Even when nothing visible changed, keep the newest timestamps.
            self.board = board
            self.ready = True
            reset = self._seed_history()
            if changed or reset:
                self._record(old, board, events, feed_reset=reset)
            return events, changed or reset

    def add_feed_item(self, item: FeedItem) -> int:
        """Put another domain's entry on top of the feed; the sequence number it makes."""
        with self._lock:
            self._record(self.board, self.board, [], [item])
            return self.seq

    def _seed_history(self) -> bool:
        """Once every card is read: fill the feed from the tasks' own timestamps.

        The dashboard keeps nothing on disk, so after a restart this is what happened
        before, as the files tell it. Entries already in the feed keep their place by time;
        all are numbered again, oldest first (pages take the whole feed: `feed_reset`).
        """
        if self.history_seeded or not self.ready or self.board.pending_count:
            return False
        self.history_seeded = True
        past = history_events(self.board, self.feed.maxlen or FEED_SIZE)
        if not past:
            return False
        entries = [*self.feed, *(FeedEntry(e) for e in past)]
        entries.sort(key=lambda e: e.event.at, reverse=True)
        kept = entries[: self.feed.maxlen]
        for entry in reversed(kept):
            self.feed_number += 1
            entry.number = self.feed_number
            entry.html = None
        self.feed = deque(kept, maxlen=self.feed.maxlen)
        return True

    def _record(
        self,
        old: Board,
        new: Board,
        events: list[Event],
        items: list[FeedItem] | None = None,
        feed_reset: bool = False,
    ) -> None:
        feed_before = self.feed_number
        self._add_to_feed(events)
        for item in items or ():
            self.feed_number += 1
            self.feed.appendleft(FeedEntry(item, self.feed_number))
        self.seq += 1
        paths = {e.path for e in events} | {e.old_path for e in events if e.old_path}
        if old.problems is not new.problems:
            paths.update(
                p
                for p in old.problems.keys() | new.problems.keys()
                if old.problems.get(p) != new.problems.get(p)
            )
        self.history.append(
            Change(
                self.seq,
                old,
                new,
                tuple(sorted(paths)),
                feed_before,
                self.feed_number,
                feed_reset,
            )
        )
        if self.on_record is not None:
            try:
                self.on_record(self._batch(events, items or [], old, new))
            except Exception:  # the relay must never break the board
                log.exception("could not hand change %d to the relay", self.seq)

    def _add_to_feed(self, events: list[Event]) -> None:
        for event in events:
            self.feed_number += 1
            self.feed.appendleft(FeedEntry(event, self.feed_number))

    @property
    def newest_feed_number(self) -> int:
        return self.feed[0].number if self.feed else 0

    def batch_message(
        self, events: list[Event], items: list[FeedItem] | None = None
    ) -> dict[str, Any]:
        with self._lock:
            return self._batch(events, items or [], None, self.board)

    def _batch(
        self, events: list[Event], items: list[FeedItem], old: Board | None, new: Board
    ) -> dict[str, Any]:
        """Plain data (msgpack/JSON) taking a mirror at `seq - 1` to `seq`."""
        same_problems = old is not None and old.problems is new.problems
        return {
            "seq": self.seq,
            "events": [e.as_message() for e in events],
            "items": [item_to_message(i) for i in items],
            # None: unchanged (most changes), so a batch does not carry every problem
            "problems": None if same_problems else [p.as_json() for p in new.problems.values()],
        }

    def snapshot_message(self) -> dict[str, Any]:
        """The whole state, read together: the board, its seq and the feed."""
        with self._lock:
            return {
                "seq": self.seq,
                "board": board_to_message(self.board),
                "feed_number": self.feed_number,
                "feed": [
                    {"number": e.number, **_entry_to_message(e.event)} for e in reversed(self.feed)
                ],
            }

    def load_snapshot(self, message: dict[str, Any], boot_id: str | None = None) -> None:
        """Become the state a snapshot describes; `boot_id` names the process it came from."""
        with self._lock:
            self.board = board_from_message(message["board"])
            self.seq = message["seq"]
            self.history.clear()  # pages at an older seq must take the whole state
            if "feed" in message:
                self.feed.clear()
                for entry in message["feed"]:  # oldest first
                    self.feed.appendleft(FeedEntry(_entry_from_message(entry), entry["number"]))
                self.feed_number = message["feed_number"]
            if boot_id is not None:
                self.boot_id = boot_id
            self.ready = True
            self._seed_history()

    def apply_batch(self, message: dict[str, Any]) -> bool:
        """Apply one batch of events; False if batches were missed (ask for a snapshot)."""
        with self._lock:
            if message["seq"] != self.seq + 1:
                return False
            old = self.board
            problems = message["problems"]
            if message["events"] or problems is not None:
                if problems is None:
                    problems = [p.as_json() for p in old.problems.values()]
                self.board = apply_events(self.board, message["events"], problems)
            events = [event_from_message(e) for e in message["events"]]
            items = [item_from_message(i) for i in message.get("items", ())]
            reset = self._seed_history()
            self._record(old, self.board, events, items, feed_reset=reset)
            assert self.seq == message["seq"]
            return True


def event_from_message(e: dict[str, Any]) -> Event:
    return Event.from_message(e)


def item_to_message(item: FeedItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "text": item.text,
        "attrs": [list(pair) for pair in item.attrs],
        "link": item.link,
        "at": item.at,
    }


def item_from_message(m: dict[str, Any]) -> FeedItem:
    attrs = tuple((str(k), str(v)) for k, v in m["attrs"])
    return FeedItem(m["kind"], m["text"], attrs, m["link"], m["at"])


def _entry_to_message(event: Event | FeedItem) -> dict[str, Any]:
    if isinstance(event, FeedItem):
        return {"item": item_to_message(event)}
    return {"event": event.as_message()}


def _entry_from_message(m: dict[str, Any]) -> Event | FeedItem:
    if "item" in m:
        return item_from_message(m["item"])
    return event_from_message(m["event"])
