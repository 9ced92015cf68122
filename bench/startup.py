"""Start to ready for `rundashboard` on a given task tree (the real corpus by default).

    .venv/bin/python bench/startup.py [--collab-dir DIR] [--runs 10]

Ready means the process printed its `Dashboard ready at http://...` line, which it does only
once the board is loaded and the port accepts connections. Prints median, p95 and max.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.server import DashboardProcess  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "work" / "collaboration"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collab-dir", type=Path, default=CORPUS)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if not args.collab_dir.is_dir():
        print(f"no task tree at {args.collab_dir}", file=sys.stderr)
        return 2
    times = []
    for _ in range(args.runs):
        server = DashboardProcess(
            "--collab-dir", str(args.collab_dir), "--telemetry-db", "/nonexistent.db"
        )
        started = time.perf_counter()
        server.start()
        times.append(time.perf_counter() - started)
        server.stop()
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(
        f"start -> ready on {args.collab_dir} over {len(times)} runs: "
        f"median {statistics.median(times):.2f} s, p95 {p95:.2f} s, max {times[-1]:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
