"""Process-group helpers: kill a whole group and know when it is really gone."""

from __future__ import annotations

import os
import signal
import time


def process_alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def live_processes_in_group(pgid: int) -> list[int]:
    """Members of process group ``pgid`` that are not zombies (a killed process waits a moment to be reaped)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                out.append(int(entry))
    return out


def kill_group_and_wait(pgid: int, timeout_s: float = 10.0) -> bool:
    """SIGKILL process group ``pgid`` until no live member is left; False if some survived ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return True
        if not live_processes_in_group(pgid):
            return True
        time.sleep(0.02)
    return False
