"""How long one look at the agents takes (the `#agents` strip, every 5 s and on each change).

    .venv/bin/python bench/gen_tasks.py --tasks 10000 --out /tmp/board --agents 12 --done-share 0.7
    .venv/bin/python bench/agents_strip.py /tmp/board [--runs 30]

Prints the first look (every task's own times read) and the percentiles of the next ones.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collab", type=Path)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    import django

    django.setup()
    from kanban import composition, runtime
    from kanban.scanner import Scanner
    from kanban.state import BoardState

    state = BoardState()
    state.publish_board(Scanner(args.collab).scan())
    runtime.STATE = state
    print(f"{state.board.counts['total']} tasks")
    took = []
    for _ in range(args.runs + 1):
        started = time.perf_counter()
        composition.agents_panel_html()
        took.append((time.perf_counter() - started) * 1000)
    first, rest = took[0], sorted(took[1:])
    p95 = rest[max(0, int(0.95 * len(rest)) - 1)]
    print(f"first look {first:.1f} ms; then p50 {statistics.median(rest):.1f} ms,")
    print(f"p95 {p95:.1f} ms, max {rest[-1]:.1f} ms ({args.runs} runs)")


if __name__ == "__main__":
    main()
