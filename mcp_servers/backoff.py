"""Restart delays for a managed server that keeps dying: quick first, then growing, capped."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """1 s, 2 s, 4 s ... up to `cap`; a run that lasted `stable_after` seconds starts over.

    The first restart comes well inside the 10 s the contract allows, and a server that
    crashes at once is not respawned in a tight loop.
    """

    first: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    stable_after: float = 60.0
    attempts: int = 0

    def next_delay(self, ran_for: float) -> float:
        if ran_for >= self.stable_after:
            self.attempts = 0
        delay = min(self.cap, self.first * self.factor**self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0
