"""Simulated LLM operations for the demo: real child processes that report through the producer.

    python -m telemetry.operations.demo_worker --events-dir DIR [--url URL] --mode ok|fail|stubborn

Each worker routes, streams output lines, reports a rising cost and ends: `ok` completes, `fail`
raises half way, `stubborn` ignores SIGINT (so Stop has to escalate to SIGTERM). Every worker
ends itself when Stop is requested cooperatively (it learns that through the URL) and when its
parent goes away. `start_demo()` keeps a few of them running until `.stop()`.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from .producer import operation

log = logging.getLogger("telemetry.operations")

AGENTS = ("backend-dev", "frontend", "architect", "writer-editor", "devops")
MODELS = (
    ("claude-sonnet-4", 0.015, "code task with long context"),
    ("gpt-4o", 0.010, "balanced cost and quality"),
    ("claude-haiku", 0.001, "short task, cheapest model that passes"),
    ("gemini-2.5-pro", 0.007, "large input, cheaper per token"),
)
TOOLS = ("claude-code", "aider", "copilot-cli")
LINES = (
    "reading {file}",
    "planning changes to {file}",
    "editing {file}: +{n} -{m}",
    "running tests: {n} passed",
    "calling model with api_key=sk-demo{n}abcdefgh0123",  # masked by the dashboard
    "summarising {n} findings",
)
FILES = ("src/router.py", "docs/adr-047.md", "tests/test_api.py", "web/app.ts", "README.md")


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    # A dashboard started with `&` from a script hands its children SIGINT ignored: undo that,
    # so Stop's SIGINT ends the others as it would a producer started from a terminal.
    stubborn = args.mode == "stubborn"
    signal.signal(signal.SIGINT, signal.SIG_IGN if stubborn else signal.default_int_handler)
    model, price, reason = rng.choice(MODELS)
    parent = os.getppid()
    with operation(
        tool=rng.choice(TOOLS),
        model=model,
        task_id=args.task_id,
        agent=args.agent,
        prompt_summary=f"{args.mode} demo run for {args.task_id or 'no task'}",
        events_dir=args.events_dir,
        url=args.url,
    ) as op:
        others = [m for m in MODELS if m[0] != model]
        op.routing(
            model,
            reason=reason,
            alternatives=[
                {"model": m, "score": round(rng.uniform(0.4, 0.9), 2), "cost_per_1k": p}
                for m, p, _ in others[:2]
            ],
        )
        steps = max(3, int(args.seconds / args.interval))
        prompt = completion = 0
        for step in range(1, steps + 1):
            if op.stop_requested or os.getppid() != parent:
                op.stopped("cooperative")
                return 0
            time.sleep(args.interval)
            lines = [
                rng.choice(LINES).format(file=rng.choice(FILES), n=rng.randint(1, 99), m=step)
                for _ in range(rng.randint(1, 3))
            ]
            percent = round(100 * step / steps)
            op.progress(percent=percent, step=f"step {step}/{steps}", output=lines)
            prompt += rng.randint(200, 900)
            completion += rng.randint(50, 400)
            op.cost(prompt, completion, round((prompt + completion) / 1000 * price, 6))
            if args.mode == "fail" and step == steps // 2:
                raise RuntimeError("model returned 529 overloaded (token=demo-secret-123)")
        op.result_summary = f"{steps} steps, {prompt + completion:,} tokens"
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m telemetry.operations.demo_worker")
    parser.add_argument("--events-dir", required=True)
    parser.add_argument("--url", default=None)
    parser.add_argument("--agent", default="backend-dev")
    parser.add_argument("--task-id", default="")
    parser.add_argument("--mode", choices=("ok", "fail", "stubborn"), default="ok")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except RuntimeError as exc:
        print(f"demo worker failed as planned: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


class DemoHandle:
    """Keeps `workers` demo operations running (one `stubborn`) until `stop()`."""

    def __init__(
        self,
        events_dir: Path,
        dashboard_url: str | None,
        workers: int = 4,
        task_ids: Sequence[str] = (),
        seconds: tuple[float, float] = (20.0, 60.0),
    ) -> None:
        self.events_dir = Path(events_dir)
        self.url = dashboard_url
        self.workers = workers
        self.task_ids = list(task_ids)
        self.seconds = seconds
        self.procs: dict[subprocess.Popen[bytes], str] = {}
        self._stop = threading.Event()
        self._rng = random.Random()
        self._modes = itertools.cycle(("ok", "ok", "fail", "ok"))
        self._thread = threading.Thread(target=self._supervise, name="operations-demo", daemon=True)

    def start(self) -> DemoHandle:
        self.events_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def _spawn(self, mode: str) -> None:
        cmd = [
            sys.executable, "-m", "telemetry.operations.demo_worker",
            "--events-dir", str(self.events_dir), "--mode", mode,
            "--agent", self._rng.choice(AGENTS),
            "--seconds", str(round(self._rng.uniform(*self.seconds), 1)),
            "--seed", str(self._rng.randrange(1 << 30)),
        ]  # fmt: skip
        if self.task_ids:
            cmd += ["--task-id", self._rng.choice(self.task_ids)]
        if self.url:
            cmd += ["--url", self.url]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
            ),
        }
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs[proc] = mode

    def _supervise(self) -> None:
        try:
            while not self._stop.is_set():
                for proc in [p for p in self.procs if p.poll() is not None]:
                    del self.procs[proc]
                if "stubborn" not in self.procs.values():
                    self._spawn("stubborn")
                while len(self.procs) < self.workers and not self._stop.is_set():
                    self._spawn(next(self._modes))
                    self._stop.wait(self._rng.uniform(0.5, 2.0))
                self._stop.wait(0.5)
        except Exception:
            log.exception("operations demo: supervisor failed")

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def start_demo(
    events_dir: Path, dashboard_url: str | None, *, workers: int = 4, task_ids: Sequence[str] = ()
) -> DemoHandle:
    """Simulated operations as real child processes, until `.stop()`."""
    return DemoHandle(events_dir, dashboard_url, workers, task_ids).start()


if __name__ == "__main__":
    sys.exit(main())
