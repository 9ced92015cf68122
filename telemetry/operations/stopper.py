"""Stopping a producer's process, only once psutil confirms it is the one that registered.

A process is signalled only when all hold: the operation registered a `pid` and
`pid_started_at`, on this host; that pid exists with that start time (within 0.01 s: a
different time means the pid was reused); it runs as the dashboard's user; it is not pid 1 or
below and not the dashboard itself. Then: a short cooperative window (the producer sees
`stop_requested`), SIGINT, SIGTERM after `sigint_s`, SIGKILL after `sigterm_s` more. Each
signal also goes to the process's descendants as psutil finds them at that moment (those of
the dashboard's user, never the dashboard), as Ctrl-C in a terminal reaches the whole job: a
producer that is a shell or a wrapper would otherwise die and leave its work running.
Escalation runs in its own thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

log = logging.getLogger("telemetry.operations")

START_TIME_TOLERANCE_S = 0.01


@dataclass(frozen=True)
class Timeouts:
    cooperative_s: float = 2.0  # the producer may end itself before any signal
    sigint_s: float = 10.0
    sigterm_s: float = 5.0
    sigkill_s: float = 5.0
    poll_s: float = 0.05


def local_host(host: str | None) -> bool:
    return not host or host in ("localhost", "127.0.0.1", "::1", socket.gethostname())


def find_process(
    pid: int | None, started_at: float | None, host: str | None = None
) -> tuple[psutil.Process | None, str]:
    """The registered process if it is still that same process, else None and why not:
    `unregistered`, `remote`, `refused: ...` (never signalled) or `gone` (not there, or the pid
    now belongs to another process)."""
    if pid is None or started_at is None:
        return None, "unregistered"
    if not local_host(host):
        return None, "remote"
    if pid <= 1:
        return None, "refused: pid 1 or below"
    if pid == os.getpid():
        return None, "refused: the dashboard's own process"
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - started_at) > START_TIME_TOLERANCE_S + 1e-6:
            return None, "gone"  # the pid was reused: that is someone else now
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None, "gone"
        if proc.uids().real != os.getuid():
            return None, "refused: another user's process"
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None, "gone"
    except psutil.AccessDenied:
        return None, "refused: access denied"
    return proc, ""


def is_alive(pid: int | None, started_at: float | None, host: str | None = None) -> bool:
    """For `lost`: True only when the registered process is confirmed still there."""
    proc, why = find_process(pid, started_at, host)
    return proc is not None or why.startswith("refused")


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    """The process's children, grandchildren..., each of our user; never the dashboard."""
    try:
        uid = os.getuid()
        return [
            p
            for p in proc.children(recursive=True)
            if p.pid not in (1, os.getpid()) and p.uids().real == uid
        ]
    except psutil.Error:
        return []


def _gone(proc: psutil.Process) -> bool:
    try:
        # is_running() also compares the start time: a reused pid counts as gone.
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


class Stopper:
    def __init__(
        self,
        on_outcome: Callable[[str, str], None],
        timeouts: Timeouts | None = None,
    ) -> None:
        self.on_outcome = on_outcome  # (operation id, interrupted/terminated/killed/gone/stopped)
        self.timeouts = timeouts or Timeouts()
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def stop(
        self, operation_id: str, pid: int | None, started_at: float | None, host: str | None
    ) -> str:
        """Begin stopping; returns what happens: `signalling`, `cooperative` (nothing to
        signal: the producer must end itself), `gone`, or `refused: ...`."""
        proc, why = find_process(pid, started_at, host)
        if proc is None:
            if why == "gone":
                self.on_outcome(operation_id, "gone")
                return "gone"
            if why.startswith("refused"):
                log.warning(
                    "operations: stop %s: %s (pid %s), no signal sent", operation_id, why, pid
                )
                return why
            return "cooperative"
        with self._lock:
            if operation_id in self._running and self._running[operation_id].is_alive():
                return "signalling"
            thread = threading.Thread(
                target=self._escalate,
                args=(operation_id, proc),
                name=f"stop-{operation_id}"[:40],
                daemon=True,
            )
            self._running[operation_id] = thread
        thread.start()
        return "signalling"

    def _wait(self, procs: list[psutil.Process], seconds: float) -> bool:
        """Whether every one of `procs` is gone within `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            if all(_gone(p) for p in procs):
                return True
            left = deadline - time.monotonic()
            if left <= 0 or self._closing.is_set():
                return False
            time.sleep(min(self.timeouts.poll_s, left))

    def _escalate(self, operation_id: str, proc: psutil.Process) -> None:
        t = self.timeouts
        try:
            how = "stopped"
            if not self._wait([proc], t.cooperative_s):
                how = "gone"
                # Descendants seen at any step stay targets: one that outlives its parent (a
                # shell's background job ignores SIGINT) still gets SIGTERM and SIGKILL.
                tree: dict[int, psutil.Process] = {}
                for sig, wait, outcome in (
                    (signal.SIGINT, t.sigint_s, "interrupted"),
                    (signal.SIGTERM, t.sigterm_s, "terminated"),
                    (signal.SIGKILL, t.sigkill_s, "killed"),
                ):
                    if self._closing.is_set():
                        return
                    if not _gone(proc):
                        tree.update((p.pid, p) for p in _descendants(proc))
                    targets = [p for p in (proc, *tree.values()) if not _gone(p)]
                    if not targets:
                        break
                    for target in targets:
                        with contextlib.suppress(psutil.Error):  # gone meanwhile
                            target.send_signal(sig)  # psutil re-checks the start time first
                    log.info(
                        "operations: sent %s to pid %s and %d descendants (%s)",
                        sig.name,
                        proc.pid,
                        len(targets) - (proc in targets),
                        operation_id,
                    )
                    how = outcome
                    if self._wait(targets, wait):
                        break
            self.on_outcome(operation_id, how)
        except Exception:
            log.exception("operations: stopping %s failed", operation_id)
        finally:
            with self._lock:
                self._running.pop(operation_id, None)

    def close(self) -> None:
        """Leave processes alone and end the escalation threads (the dashboard is stopping)."""
        self._closing.set()
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(1.0)
