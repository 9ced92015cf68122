"""The server processes as psutil sees them: find the one we spawned, watch it, measure it.

The SDK's `stdio_client` spawns the process and keeps it to itself, so each spawn carries a
random marker in its environment (`DASHBOARD_MCP_INSTANCE`); the process whose environment
holds our marker is ours. A process is signalled only after psutil confirms it is the one we
recorded (pid and create time).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from dataclasses import dataclass, field

import psutil

from .client import MARKER_ENV

log = logging.getLogger("mcp_servers")


def find_spawned(marker: str) -> psutil.Process | None:
    for child in psutil.Process().children(recursive=False):
        with contextlib.suppress(psutil.Error, OSError):
            if child.environ().get(MARKER_ENV) == marker:
                return child
    return None


def spawned_by_us() -> list[psutil.Process]:
    """Every live child carrying a marker: what must not outlive the dashboard."""
    out = []
    for child in psutil.Process().children(recursive=False):
        with contextlib.suppress(psutil.Error, OSError):
            if MARKER_ENV in child.environ() and child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
    return out


def is_alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_tree(proc: psutil.Process) -> None:
    """SIGKILL the server and its process group, if it is still the process we recorded."""
    try:
        if not proc.is_running():  # compares the create time: a reused pid is not ours
            return
        pid = proc.pid
        if pid <= 1 or pid == os.getpid():
            return
        descendants = proc.children(recursive=True)
        if os.getpgid(pid) == pid:  # stdio_client starts servers in their own session
            os.killpg(pid, signal.SIGKILL)
        else:
            proc.kill()
        for child in descendants:
            with contextlib.suppress(psutil.Error):
                if child.is_running():
                    child.kill()
    except (psutil.Error, ProcessLookupError, PermissionError) as exc:
        log.debug("MCP: kill of %s skipped: %s", proc.pid, exc)


@dataclass
class ResourceSampler:
    """CPU and memory of a server and everything it spawned (npx, uv, shells start children)."""

    root: psutil.Process
    _known: dict[int, psutil.Process] = field(default_factory=dict)

    def sample(self) -> tuple[float, float]:
        """(rss in MiB, cpu percent since the previous sample) summed over the tree."""
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            tree = [self.root]
        rss = 0
        cpu = 0.0
        seen: dict[int, psutil.Process] = {}
        for proc in tree:
            known = self._known.get(proc.pid)
            if known is not None and known.is_running():
                proc = known  # the same object keeps the CPU baseline between samples
            try:
                with proc.oneshot():
                    rss += proc.memory_info().rss
                    cpu += proc.cpu_percent(interval=None)
            except psutil.Error:
                continue
            seen[proc.pid] = proc
        self._known = seen
        return rss / (1024 * 1024), cpu
