"""Report an LLM operation to the dashboard: a module producers import. Standard library only.

    from telemetry.operations.producer import operation

    with operation(tool="claude-code", model="claude-sonnet-4", task_id="T-42", agent="dev") as op:
        op.routing("claude-sonnet-4", reason="code task, long context", alternatives=[...])
        for chunk in run():
            op.output(chunk.lines)
            op.cost(prompt_tokens=..., completion_tokens=..., cost_usd=...)
            if op.stop_requested:
                break

Events are appended to `<events dir>/operations.jsonl` (one line each, O_APPEND, written at
once) and/or POSTed to the dashboard (`DASHBOARD_URL`, with `DASHBOARD_TOKEN`) from a background
thread. Nothing here ever raises into the producer: a dashboard that is down only delays the
HTTP copy (the disk copy is not lost). Every event carries an `event_id`, so one sent both ways
counts once. The operation registers its pid and start time, so Stop can signal it safely.

From a shell script (`start` prints the operation id):
    id=$(python -m telemetry.operations.producer start --tool aider --model gpt-4o --task-id T-42)
    python -m telemetry.operations.producer progress "$id" --percent 50 --output "half way"
    python -m telemetry.operations.producer end "$id" --status completed --summary "done"
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

EVENTS_FILE = "operations.jsonl"
HTTP_TIMEOUT_S = 2.0
STOP_POLL_S = 1.0
QUEUE_LIMIT = 10_000


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def process_start_time(pid: int) -> float | None:
    """Seconds since the epoch, as psutil's `create_time()` gives it (psutil when installed)."""
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except ImportError:
        pass
    except Exception:
        return None
    try:  # Linux: start time in clock ticks since boot, field 22 of /proc/<pid>/stat
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return None


def _warn(message: str) -> None:
    with contextlib.suppress(Exception):
        print(f"telemetry.operations.producer: {message}", file=sys.stderr)


class Sink:
    """Where events go: a file in the events dir, the dashboard over HTTP, or both."""

    def __init__(
        self,
        events_dir: str | Path | None = None,
        url: str | None = None,
        token: str | None = None,
        *,
        background: bool = True,
        file_name: str = EVENTS_FILE,
    ) -> None:
        self.path = Path(events_dir) / file_name if events_dir else None
        self.url = url.rstrip("/") if url else None
        self.token = token or ""
        self.background = background
        self.stop_ids: set[str] = set()
        self.watched: set[str] = set()  # operations whose stop flag we poll for
        self._queue: collections.deque[dict[str, Any]] = collections.deque(maxlen=QUEUE_LIMIT)
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._warned: set[str] = set()
        self._busy = False

    # -- disk ------------------------------------------------------------------------------
    def write(self, event: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = (json.dumps(event, separators=(",", ":"), default=str) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Opened per event: after a rotation the next event goes to the new file.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, line)  # one write: lines from many producers never interleave
            finally:
                os.close(fd)
        except OSError as exc:
            self._warn_once("disk", f"cannot write {self.path}: {exc}")

    # -- http ------------------------------------------------------------------------------
    def post(self, events: list[dict[str, Any]]) -> bool:
        """POST now; True when the dashboard took them (its `stop` answer is remembered)."""
        if self.url is None:
            return True
        body = json.dumps(events, default=str).encode()
        request = urllib.request.Request(
            self.url + "/api/events", data=body, method="POST", headers=self._headers()
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            self._warn_once(f"http{exc.code}", f"the dashboard refused events: HTTP {exc.code}")
            return exc.code < 500  # a 4xx will not get better by sending it again
        except (OSError, ValueError) as exc:
            self._warn_once("down", f"dashboard at {self.url} not reachable ({exc}); will retry")
            return False
        self._warned.discard("down")
        self.stop_ids.update(str(i) for i in answer.get("stop", []) or [])
        return True

    def poll_stop(self, operation_id: str) -> None:
        if self.url is None:
            return
        request = urllib.request.Request(
            self.url + "/api/operations/" + urllib.parse.quote(operation_id, safe=""),
            headers=self._headers(),
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                if json.loads(response.read()).get("stop_requested"):
                    self.stop_ids.add(operation_id)
        except (OSError, ValueError):
            pass

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def send(self, event: dict[str, Any]) -> None:
        self.write(event)
        if self.url is None:
            return
        if not self.background:
            self.post([event])
            return
        with self._cv:
            self._queue.append(event)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="operations-producer", daemon=True
                )
                self._thread.start()
            self._cv.notify()

    def _run(self) -> None:
        backoff = 0.0
        last_poll = time.monotonic()
        while True:
            with self._cv:
                if not self._queue and not self._closed:
                    self._cv.wait(timeout=STOP_POLL_S if backoff == 0 else backoff)
                if self._closed and (not self._queue or backoff):
                    return
                batch = [self._queue.popleft() for _ in range(min(500, len(self._queue)))]
                self._busy = bool(batch)
            if batch:
                if self.post(batch):
                    backoff = 0.0
                else:
                    with self._cv:
                        self._queue.extendleft(reversed(batch))
                    backoff = min(10.0, max(0.5, backoff * 2))
                    time.sleep(backoff)
            elif time.monotonic() - last_poll >= STOP_POLL_S:
                last_poll = time.monotonic()
                for operation_id in list(self.watched):
                    if operation_id not in self.stop_ids:
                        self.poll_stop(operation_id)
            with self._cv:
                self._busy = False
                self._cv.notify_all()

    def flush(self, timeout: float = HTTP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        with self._cv:
            while (self._queue or self._busy) and self._thread is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)

    def close(self, timeout: float = HTTP_TIMEOUT_S) -> None:
        self.flush(timeout)
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _warn(message)


def sink_from_env(
    events_dir: str | Path | None = None,
    url: str | None = None,
    token: str | None = None,
    *,
    background: bool = True,
) -> Sink:
    """`events_dir` defaults to $DASHBOARD_EVENTS_DIR, else `work/events` (as the dashboard);
    `url` to $DASHBOARD_URL (no HTTP when unset); `token` to $DASHBOARD_TOKEN."""
    if events_dir is None:
        events_dir = os.environ.get("DASHBOARD_EVENTS_DIR") or Path("work") / "events"
    return Sink(
        events_dir or None,
        url if url is not None else os.environ.get("DASHBOARD_URL") or None,
        token if token is not None else os.environ.get("DASHBOARD_TOKEN", ""),
        background=background,
    )


class Operation:
    """One operation being reported. Methods never raise; `stop_requested` says whether
    someone pressed Stop (known through the dashboard's HTTP answers, so it needs a URL)."""

    def __init__(self, sink: Sink, operation_id: str | None = None, **common: Any) -> None:
        self.sink = sink
        self.id = operation_id or uuid.uuid4().hex[:16]
        self.common = {k: v for k, v in common.items() if v not in (None, "")}
        self.ended = False
        self.result_summary = ""

    def event(self, name: str, **fields: Any) -> None:
        """Any event (an unknown one lands in the operation's timeline)."""
        event = {
            "event": name,
            "ts": now_iso(),
            "event_id": uuid.uuid4().hex,
            "operation_id": self.id,
            **self.common,
            **{k: v for k, v in fields.items() if v is not None},
        }
        try:
            self.sink.send(event)
        except Exception as exc:  # never fail the producer
            _warn(f"could not report {name}: {exc}")

    def start(self, *, pid: int | None = None, prompt_summary: str = "") -> None:
        pid = os.getpid() if pid is None else pid
        self.event(
            "operation.started",
            pid=pid or None,
            pid_started_at=process_start_time(pid) if pid else None,
            host=socket.gethostname(),
            prompt_summary=prompt_summary or None,
        )
        self.sink.watched.add(self.id)

    def routing(
        self,
        selected: str,
        reason: str = "",
        alternatives: Iterable[dict[str, Any]] | None = None,
    ) -> None:
        self.event(
            "operation.routing",
            selected=selected,
            reason=reason or None,
            alternatives=list(alternatives) if alternatives is not None else None,
        )

    def progress(
        self,
        percent: float | None = None,
        message: str = "",
        step: str = "",
        output: Iterable[str] | str | None = None,
    ) -> None:
        if output is not None and not isinstance(output, str):
            output = [str(line) for line in output]
        self.event(
            "operation.progress",
            percent=percent,
            message=message or None,
            step=step or None,
            output=output,
        )

    def output(self, lines: Iterable[str] | str) -> None:
        self.progress(output=lines)

    def cost(self, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        """Running totals for this operation, not increments."""
        self.event(
            "operation.cost",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost_usd,
        )

    def complete(self, summary: str = "") -> None:
        self._end("operation.completed", result_summary=summary or self.result_summary or None)

    def fail(self, error: str) -> None:
        self._end("operation.failed", error=error)

    def stopped(self, how: str = "") -> None:
        self._end("operation.stopped", how=how or None)

    def _end(self, name: str, **fields: Any) -> None:
        if not self.ended:
            self.ended = True
            self.event(name, **fields)
            self.sink.watched.discard(self.id)

    @property
    def stop_requested(self) -> bool:
        return self.id in self.sink.stop_ids


@contextlib.contextmanager
def operation(
    tool: str = "",
    model: str = "",
    task_id: str = "",
    agent: str = "",
    *,
    prompt_summary: str = "",
    operation_id: str | None = None,
    events_dir: str | Path | None = None,
    url: str | None = None,
    token: str | None = None,
) -> Iterator[Operation]:
    """Report one operation: started on entry; on exit completed, failed (an exception, which
    is re-raised) or stopped (KeyboardInterrupt, as SIGINT from Stop gives)."""
    sink = sink_from_env(events_dir, url, token)
    op = Operation(sink, operation_id, tool=tool, model=model, task_id=task_id, agent=agent)
    op.start(prompt_summary=prompt_summary)
    try:
        yield op
    except KeyboardInterrupt:
        op.stopped("interrupted" if not op.stop_requested else "stop requested, interrupted")
        raise
    except SystemExit as exc:
        if exc.code in (0, None):
            op.complete()
        else:
            op.fail(f"exited with {exc.code}")
        raise
    except Exception as exc:
        op.fail(f"{type(exc).__name__}: {exc}")
        raise
    else:
        if op.stop_requested and not op.ended:
            op.stopped("cooperative")
        op.complete()
    finally:
        sink.close()


# -- command line --------------------------------------------------------------------------
def _alternative(text: str) -> dict[str, Any]:
    model, _, rest = text.partition(":")
    score, _, cost = rest.partition(":")
    result: dict[str, Any] = {"model": model}
    if score:
        result["score"] = float(score)
    if cost:
        result["cost_per_1k"] = float(cost)
    return result


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--events-dir", help="default: $DASHBOARD_EVENTS_DIR, else work/events")
    common.add_argument("--url", help="the dashboard, e.g. http://127.0.0.1:8080 ($DASHBOARD_URL)")
    common.add_argument("--token", help="default: $DASHBOARD_TOKEN")
    parser = argparse.ArgumentParser(
        prog="python -m telemetry.operations.producer",
        description="Report an LLM operation to the Execution Dashboard.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", parents=[common], help="begin; prints the operation id")
    for name in ("tool", "model", "task-id", "agent", "prompt-summary", "id"):
        start.add_argument(f"--{name}", default="")
    start.add_argument(
        "--pid",
        type=int,
        default=os.getppid(),
        help="the process Stop may signal (default: the calling shell); 0 for none",
    )
    routing = sub.add_parser("routing", parents=[common], help="why this model")
    routing.add_argument("id")
    routing.add_argument("--selected", required=True)
    routing.add_argument("--reason", default="")
    routing.add_argument(
        "--alternative",
        action="append",
        type=_alternative,
        default=[],
        metavar="MODEL[:SCORE[:COST_PER_1K]]",
    )
    progress = sub.add_parser("progress", parents=[common], help="progress and output lines")
    progress.add_argument("id")
    progress.add_argument("--percent", type=float)
    progress.add_argument("--message", default="")
    progress.add_argument("--step", default="")
    progress.add_argument("--output", action="append", help="a line of output; '-' reads stdin")
    cost = sub.add_parser("cost", parents=[common], help="running token and cost totals")
    cost.add_argument("id")
    cost.add_argument("--prompt-tokens", type=int, default=0)
    cost.add_argument("--completion-tokens", type=int, default=0)
    cost.add_argument("--cost-usd", type=float, default=0.0)
    end = sub.add_parser("end", parents=[common], help="the operation ended")
    end.add_argument("id")
    end.add_argument("--status", choices=("completed", "failed", "stopped"), default="completed")
    end.add_argument("--summary", default="")
    end.add_argument("--error", default="")
    stop = sub.add_parser(
        "stop-requested", parents=[common], help="exit 0 if Stop was pressed, 1 if not"
    )
    stop.add_argument("id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sink = sink_from_env(args.events_dir, args.url, args.token, background=False)
    if args.command == "start":
        op = Operation(
            sink, args.id or None, tool=args.tool, model=args.model, task_id=args.task_id,
            agent=args.agent,
        )  # fmt: skip
        op.start(pid=args.pid, prompt_summary=args.prompt_summary)
        print(op.id)
        return 0
    op = Operation(sink, args.id)
    if args.command == "routing":
        op.routing(args.selected, args.reason, args.alternative)
    elif args.command == "progress":
        lines: list[str] | None = None
        if args.output:
            lines = []
            for line in args.output:
                lines.extend(sys.stdin.read().splitlines() if line == "-" else [line])
        op.progress(args.percent, args.message, args.step, lines)
    elif args.command == "cost":
        op.cost(args.prompt_tokens, args.completion_tokens, args.cost_usd)
    elif args.command == "end":
        if args.status == "completed":
            op.complete(args.summary)
        elif args.status == "failed":
            op.fail(args.error or args.summary or "failed")
        else:
            op.stopped(args.summary)
    elif args.command == "stop-requested":
        sink.poll_stop(args.id)
        return 0 if op.stop_requested else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
