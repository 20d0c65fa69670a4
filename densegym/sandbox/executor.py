"""Run a command with time, output and resource limits, isolated by bubblewrap.

``LocalExecutor`` is the embedded executor; a Docker executor for the SWE family implements the same
``run`` API. Under bubblewrap the command sees the host read-only, a private ``/tmp``, no network, its
own PID namespace (so a timeout kills every process it forked, even ones that called ``setsid``) and
only ``cwd`` writable, minus the paths named ``read_only``.

The home directories are hidden as well (an empty tmpfs, with this interpreter's own directories bound
back), so that keys and credentials there stay out of reach.

Model-written code never runs unisolated by accident: without a working bubblewrap the executor refuses
to start (:class:`IsolationUnavailable` says how to install it) unless ``unsafe_local=True`` accepts that
the code runs with this user's privileges (a warning says so, and ``ExecResult.isolated`` is False). The
limits hold either way: time, output and memory caps, and every process the command started (a
daemonised grandchild too) is killed when it ends, through its pids cgroup, its process group and the
run's marker in the environment of everything it spawned. The child's environment is an allow list,
never the parent's.
"""

from __future__ import annotations

import functools
import os
import resource
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from densegym import leftovers
from densegym.sandbox.cgroups import pids_cgroup
from densegym.sandbox.workspace import Workspace


@dataclass(frozen=True)
class ExecResult:
    """What a command did. ``output`` is stdout and stderr interleaved, cut at the output limit."""

    returncode: int | None
    output: str
    timed_out: bool
    output_truncated: bool
    seconds: float
    isolated: bool
    channel: bytes = b""  # what the command wrote to the side channel (``run(channel=True)``)

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


class IsolationUnavailable(RuntimeError):
    """No isolating executor works here, and running model-written code unisolated was not asked for."""


class UnsafeLocalWarning(UserWarning):
    """Model-written code will run with this user's privileges (``unsafe_local=True``)."""


INSTALL_BUBBLEWRAP = "apt-get install bubblewrap (Debian/Ubuntu) or dnf install bubblewrap (Fedora)"
CHANNEL_FD_VAR = "DENSEGYM_CHANNEL_FD"
RUN_MARKER_VAR = "DENSEGYM_RUN"
_MAX_CHANNEL_BYTES = 16 << 20


def bubblewrap_path() -> str | None:
    """The ``bwrap`` binary when it is installed and can create a sandbox here, else ``None``."""
    path = shutil.which("bwrap")
    return path if path is not None and _bubblewrap_works(path) else None


@functools.lru_cache(maxsize=None)
def _bubblewrap_works(path: str) -> bool:
    """One probe per binary and process: every env that runs tests asks, and the answer does not change."""
    try:
        probe = subprocess.run(
            [path, *_bwrap_flags(Path("/tmp")), "--chdir", "/", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _hidden_roots() -> list[str]:
    """Host directories the sandbox replaces with empty ones: ``/tmp`` (private), and the home directories,
    where keys and credentials live (``~/.ssh``, ``~/.netrc``, cloud configs)."""
    roots = {"/tmp", "/root", "/home", os.path.realpath(os.path.expanduser("~"))}
    return sorted(r for r in roots if r != "/" and os.path.isdir(r))


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _interpreter_dirs_hidden(roots: Sequence[str]) -> list[str]:
    """This Python's installation and import directories that live under a hidden root (a virtualenv in a
    checkout under /tmp, as in a CI clone; pyenv under the home directory; an editable install there): the
    sandbox would hide them, so they are bound back, read-only."""
    candidates = {sys.prefix, sys.base_prefix, os.path.dirname(sys.executable), *(p for p in sys.path if p)}
    dirs = {os.path.realpath(p) for p in candidates if os.path.isdir(p)}
    dirs = sorted(d for d in dirs if _under(d, roots))
    return [d for d in dirs if not _under(d, [o for o in dirs if o != d])]  # outermost only


def _bwrap_flags(cwd: Path, read_only: Sequence[Path] = ()) -> list[str]:
    flags = [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
    ]  # fmt: skip
    roots = _hidden_roots()
    for root in roots:
        flags += ["--tmpfs", root]
    for d in _interpreter_dirs_hidden(roots):
        flags += ["--ro-bind", d, d]
    return flags + [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--bind", str(cwd), str(cwd),
        *[arg for p in read_only for arg in ("--ro-bind", str(p), str(p))],
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



def _processes_marked(marker: str) -> list[int]:
    """Processes whose environment carries ``RUN_MARKER_VAR=marker``: what a run left behind, a daemon that
    left the process group with ``setsid`` included."""
    needle = f"{RUN_MARKER_VAR}={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if needle in fh.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                pass
    return found


class LocalExecutor:
    """Runs commands on this machine, inside bubblewrap, in a host directory (its workspace): the
    :class:`~densegym.sandbox.protocol.Executor` of the embedded default.

    Args:
        use_bubblewrap: ``None`` (default) or ``True``: bubblewrap, which must work here; ``False``: no
            isolation, which needs ``unsafe_local=True`` as well.
        limits: the default :class:`Limits` of a command.
        unsafe_local: accept running commands unisolated, with this user's privileges, when bubblewrap is
            missing (or not wanted). A warning says so; ``isolated`` is then False.
        workspace: the :class:`~densegym.sandbox.Workspace` it owns (default: a new, empty one, made on
            first use); ``close()`` removes it.

    ``run(argv, cwd)`` takes a workspace-relative ``cwd``; an absolute host path is accepted too (a
    directory of this machine, outside any workspace: this executor's own use and its tests).
    """

    def __init__(
        self,
        use_bubblewrap: bool | None = None,
        limits: Limits | None = None,
        *,
        unsafe_local: bool = False,
        workspace: Workspace | None = None,
    ):
        self.limits = limits or Limits()
        self.unsafe_local = bool(unsafe_local)
        self._workspace = workspace
        if use_bubblewrap is False and not unsafe_local:
            raise ValueError("use_bubblewrap=False runs model-written code with this user's privileges: "
                             "pass unsafe_local=True as well to accept that")  # fmt: skip
        bwrap = bubblewrap_path() if use_bubblewrap is not False else None
        if bwrap is None and use_bubblewrap is not False:
            if use_bubblewrap or not unsafe_local:
                raise IsolationUnavailable(
                    "bubblewrap does not work here, and without it model-written code would run with this user's "
                    f"privileges (files, environment, network). Install it: {INSTALL_BUBBLEWRAP}; or pass "
                    "unsafe_local=True to run it unisolated anyway."
                )
        if bwrap is None:
            warnings.warn(
                "unsafe_local: model-written code runs WITHOUT isolation, with this user's privileges "
                f"(install bubblewrap to isolate it: {INSTALL_BUBBLEWRAP})",
                UnsafeLocalWarning,
                stacklevel=2,
            )
        self.bwrap = bwrap

    @property
    def isolated(self) -> bool:
        return self.bwrap is not None

    # ---- the workspace (Executor protocol) ----------------------------------------------------

    @property
    def workspace(self) -> Workspace:
        """The host directory this executor works in (a language server on the host reads it too)."""
        if self._workspace is None:
            self._workspace = Workspace(prefix="densegym-ws-")
        return self._workspace

    @property
    def root(self) -> str:
        return str(self.workspace.root)  # bubblewrap binds it at the same path

    def read(self, path: str) -> str:
        return self.workspace.read(path)

    def write(self, path: str, text: str) -> str:
        return self.workspace.write(path, text)

    def exists(self, path: str) -> bool:
        return self.workspace.exists(path)

    def list(self, suffix: str = "") -> list[str]:
        return self.workspace.files(suffix)

    def delete(self, path: str) -> None:
        self.workspace.resolve(path).unlink(missing_ok=True)

    def snapshot(self, suffix: str = "") -> dict[str, str]:
        return self.workspace.snapshot(suffix)

    def restore(self, files: Mapping[str, str], suffix: str = "") -> None:
        self.workspace.restore(files, suffix)

    def fork(self) -> LocalExecutor:
        """A copy of the workspace under the same isolation and limits."""
        copy = Workspace(prefix="densegym-run-", max_file_bytes=self.workspace.max_file_bytes)
        self.workspace.copy_to(copy.root)
        return self.with_workspace(copy)

    def with_workspace(self, workspace: Workspace) -> LocalExecutor:
        """This executor's isolation and limits over ``workspace`` (checked already: no probe or warning
        again); closing it removes that workspace."""
        twin = object.__new__(LocalExecutor)
        twin.limits, twin.unsafe_local, twin.bwrap, twin._workspace = self.limits, self.unsafe_local, self.bwrap, workspace
        return twin

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.cleanup()

    @property
    def python(self) -> str:
        """The interpreter a command should run Python code with (the host's, visible inside bubblewrap)."""
        return sys.executable

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
        cwd: str | os.PathLike = ".",
        *,
        env: Mapping[str, str] | None = None,
        limits: Limits | None = None,
        channel: bool = False,
        read_only: Sequence[Path] = (),
    ) -> ExecResult:
        """Run ``argv`` in ``cwd`` and return what it did; it never outlives ``limits.timeout_s``.

        ``channel=True`` opens a side channel: a pipe whose write end the command finds in the file
        descriptor named by ``$DENSEGYM_CHANNEL_FD``; what it wrote comes back in ``ExecResult.channel``.
        ``read_only`` paths inside ``cwd`` cannot be changed by the command (bind-mounted read-only;
        unisolated, only their permission bits say so).
        """
        lim = limits or self.limits
        cwd = self._host_dir(cwd)
        marker = secrets.token_hex(8)
        full_env = {
            "PATH": os.path.dirname(self.python) + ":/usr/local/bin:/usr/bin:/bin",
            "HOME": str(cwd),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            **(env or {}),
            RUN_MARKER_VAR: marker,
        }
        read_only = [self._host_path(p, cwd) for p in read_only]
        cmd = list(argv)
        if self.bwrap is not None:
            cmd = [self.bwrap, *_bwrap_flags(cwd, read_only), "--chdir", str(cwd), *cmd]
        else:
            for p in read_only:
                p.chmod(p.stat().st_mode & ~0o222)
        # RLIMIT_NPROC counts every process of the user, so the cap is relative to what runs now; it does
        # not bind root, which the pids cgroup (when this process may create one) does.
        nproc = _processes_of_this_user() + lim.extra_processes
        group = pids_cgroup(lim.extra_processes)
        owned = leftovers.own("cgroup", str(group.path)) if group is not None else None

        def limit_child() -> None:
            if group is not None:
                group.join()
            cpu = int(lim.timeout_s) + 2
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            resource.setrlimit(resource.RLIMIT_AS, (lim.max_memory_bytes, lim.max_memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (lim.max_file_bytes, lim.max_file_bytes))
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        try:
            return self._supervise(cmd, cwd, full_env, lim, limit_child, channel)
        finally:
            if group is not None:
                group.destroy()
                leftovers.release(owned)
            if self.bwrap is None:  # bubblewrap's PID namespace already took every process with it
                for pid in _processes_marked(marker):
                    _kill(pid)

    def _host_dir(self, cwd: str | os.PathLike) -> Path:
        if os.path.isabs(cwd):
            return Path(cwd).resolve()
        if str(cwd) in (".", ""):
            return self.workspace.root
        return self.workspace.resolve(str(cwd))

    def _host_path(self, path: str | os.PathLike, cwd: Path) -> Path:
        if os.path.isabs(path):
            return Path(path).resolve()
        ws = self._workspace
        if ws is not None and (cwd == ws.root or ws.root in cwd.parents):
            return ws.resolve(os.path.relpath(cwd / path, ws.root))  # jailed: no symlink out
        return (cwd / path).resolve()

    def _supervise(self, cmd: list[str], cwd: Path, full_env: dict[str, str], lim: Limits, limit_child, channel: bool) -> ExecResult:
        start = time.monotonic()
        deadline = start + lim.timeout_s
        out_r, out_w = os.pipe()
        chan_r, chan_w = os.pipe() if channel else (-1, -1)
        if channel:
            full_env[CHANNEL_FD_VAR] = str(chan_w)
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=out_w,
                pass_fds=(chan_w,) if channel else (),
                start_new_session=True,
                preexec_fn=limit_child,
            )
        except BaseException:
            for fd in (out_r, chan_r):
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            for fd in (out_w, chan_w):
                if fd >= 0:
                    os.close(fd)
        output, side = bytearray(), bytearray()
        sel = selectors.DefaultSelector()
        sel.register(out_r, selectors.EVENT_READ, output)
        if channel:
            sel.register(chan_r, selectors.EVENT_READ, side)
        timed_out = overflow = False
        exited_at: float | None = None
        # Never wait on a pipe: whatever still holds one open when the command has ended (a daemonised
        # grandchild) gets a short grace, then dies with the rest.
        while sel.get_map():
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if now >= deadline and exited_at is None:
                timed_out = True
                break
            if exited_at is not None and now >= exited_at + 0.5:
                break
            for key, _ in sel.select(timeout=min(0.05, max(deadline - now, 0.0))):
                block = os.read(key.fd, 65536)
                if not block:
                    sel.unregister(key.fd)
                    continue
                buf: bytearray = key.data
                cap = lim.max_output_bytes if buf is output else _MAX_CHANNEL_BYTES
                if len(buf) + len(block) > cap:
                    buf += block[: max(cap - len(buf), 0)]
                    overflow = True
                    break
                buf += block
            if overflow:
                break
        _kill_group(proc)
        sel.close()
        os.close(out_r)
        if channel:
            os.close(chan_r)
        proc.wait()
        return ExecResult(
            returncode=None if timed_out else proc.returncode,
            output=output.decode("utf-8", errors="replace"),
            timed_out=timed_out,
            output_truncated=overflow,
            seconds=time.monotonic() - start,
            isolated=self.isolated,
            channel=bytes(side),
        )


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
