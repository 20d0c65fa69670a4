"""A per-command pids cgroup: the one fork-bomb defence that also holds for root.

``RLIMIT_NPROC`` does not apply to uid 0 at all (the kernel exempts the root user), so when this
process may create cgroups (cgroup v2 with the pids controller, or v1's ``pids`` hierarchy) every
command gets its own group with ``pids.max`` set, and everything in it is killed when it ends.
When cgroups are not writable, :func:`pids_cgroup` returns ``None`` and the rlimit is all there is.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

_CANDIDATES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


class PidsCgroup:
    def __init__(self, path: Path, max_pids: int):
        self.path = path
        path.mkdir()
        (path / "pids.max").write_text(str(max_pids))

    def join(self) -> None:
        """Called in the child before exec: move this process into the group."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def destroy(self) -> None:
        """Kill every process in the group (it cannot grow past ``pids.max`` meanwhile), then remove it."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)  # the last zombies are still being reaped


def _pids_root() -> Path | None:
    for root in _CANDIDATES:
        if root == Path("/sys/fs/cgroup"):
            controllers = root / "cgroup.controllers"
            if not (controllers.is_file() and "pids" in controllers.read_text().split()):
                continue
        if (root / "cgroup.procs").is_file() and os.access(root, os.W_OK):
            return root
    return None


def pids_cgroup(max_pids: int) -> PidsCgroup | None:
    root = _pids_root()
    if root is None:
        return None
    try:
        return PidsCgroup(root / f"densegym-{os.getpid()}-{uuid.uuid4().hex[:8]}", max_pids)
    except OSError:
        return None
