"""Run a command with time, output and resource limits, isolated by bubblewrap when it is installed.

``LocalExecutor`` is the embedded executor; a Docker executor for the SWE family implements the same
``run`` API. Under bubblewrap the command sees the host read-only, a private ``/tmp``, no network, its
own PID namespace (so a timeout kills every process it forked, even ones that called ``setsid``) and
only ``cwd`` writable. Without bubblewrap the limits still hold (rlimits, a process group killed on
timeout) but the file system is not isolated; ``isolated`` says which one ran.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from densegym.sandbox.cgroups import pids_cgroup


@dataclass(frozen=True)
class ExecResult:
    """What a command did. ``output`` is stdout and stderr interleaved, cut at the output limit."""

    returncode: int | None
    output: str
    timed_out: bool
    output_truncated: bool
    seconds: float
    isolated: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.output_truncated


@dataclass(frozen=True)
class Limits:
    """Per-command limits. ``extra_processes`` caps how many processes the command may add."""

    timeout_s: float = 30.0
    max_output_bytes: int = 256 * 1024
    max_memory_bytes: int = 2 << 30
    max_file_bytes: int = 16 << 20
    extra_processes: int = 128


def bubblewrap_path() -> str | None:
    """The ``bwrap`` binary when it is installed and can create a sandbox here, else ``None``."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    try:
        probe = subprocess.run(
            [path, *_bwrap_flags(Path("/tmp")), "--chdir", "/", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if probe.returncode == 0 else None


def _interpreter_dirs_in_tmp() -> list[str]:
    """This Python's installation directories that live under ``/tmp`` (a virtualenv in a checkout there, as
    in a CI clone): the private ``/tmp`` would hide them, so they are bound back, read-only."""
    dirs = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(sys.executable))}
    return sorted(d for d in dirs if d == "/tmp" or d.startswith("/tmp/"))


def _bwrap_flags(cwd: Path) -> list[str]:
    flags = [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
    ]  # fmt: skip
    for d in _interpreter_dirs_in_tmp():
        flags += ["--ro-bind", d, d]
    return flags + [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--bind", str(cwd), str(cwd),
    ]  # fmt: skip


def _processes_of_this_user() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


class LocalExecutor:
    """Runs commands on this machine; ``use_bubblewrap=None`` uses bubblewrap when it works here."""

    def __init__(self, use_bubblewrap: bool | None = None, limits: Limits | None = None):
        self.limits = limits or Limits()
        bwrap = bubblewrap_path() if use_bubblewrap is not False else None
        if use_bubblewrap and bwrap is None:
            raise RuntimeError("bubblewrap was requested but does not work here: apt-get install bubblewrap")
        self.bwrap = bwrap

    @property
    def isolated(self) -> bool:
        return self.bwrap is not None

    @property
    def process_cap(self) -> str:
        """What bounds the number of processes a command may start: ``"cgroup"``, ``"rlimit"``, or
        ``"none"`` (root without writable cgroups: the kernel exempts root from ``RLIMIT_NPROC``, so only
        the timeout and, under bubblewrap, the PID namespace end a fork bomb)."""
        group = pids_cgroup(1)
        if group is not None:
            group.destroy()
            return "cgroup"
        return "rlimit" if os.getuid() != 0 else "none"

    def run(
        self,
        argv: Sequence[str],
        cwd: Path,
        *,
        env: Mapping[str, str] | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        lim = limits or self.limits
        cwd = Path(cwd).resolve()
        full_env = {
            "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
            "HOME": str(cwd),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            **(env or {}),
        }
        cmd = list(argv)
        if self.bwrap is not None:
            cmd = [self.bwrap, *_bwrap_flags(cwd), "--chdir", str(cwd), *cmd]
        # RLIMIT_NPROC counts every process of the user, so the cap is relative to what runs now; it does
        # not bind root, which the pids cgroup (when this process may create one) does.
        nproc = _processes_of_this_user() + lim.extra_processes
        group = pids_cgroup(lim.extra_processes)

        def limit_child() -> None:
            if group is not None:
                group.join()
            cpu = int(lim.timeout_s) + 2
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            resource.setrlimit(resource.RLIMIT_AS, (lim.max_memory_bytes, lim.max_memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (lim.max_file_bytes, lim.max_file_bytes))
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        start = time.monotonic()
        try:
            return self._supervise(cmd, cwd, full_env, lim, limit_child, start)
        finally:
            if group is not None:
                group.destroy()

    def _supervise(self, cmd: list[str], cwd: Path, full_env: dict[str, str], lim: Limits, limit_child, start: float) -> ExecResult:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=limit_child,
        )
        chunks: list[bytes] = []
        overflow = threading.Event()

        def drain() -> None:
            size = 0
            assert proc.stdout is not None
            while True:
                block = proc.stdout.read1(65536)
                if not block:
                    return
                room = lim.max_output_bytes - size
                if len(block) > room:
                    chunks.append(block[: max(room, 0)])
                    overflow.set()
                    _kill_group(proc)
                    return
                chunks.append(block)
                size += len(block)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=lim.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
        # Whatever still holds the pipe open (a daemonised grandchild outside bubblewrap) dies with the group.
        reader.join(timeout=2)
        if reader.is_alive():
            _kill_group(proc)
            reader.join(timeout=2)
        if proc.stdout is not None:
            proc.stdout.close()
        output = b"".join(chunks).decode("utf-8", errors="replace")
        return ExecResult(
            returncode=None if timed_out else proc.returncode,
            output=output,
            timed_out=timed_out,
            output_truncated=overflow.is_set(),
            seconds=time.monotonic() - start,
            isolated=self.isolated,
        )


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
