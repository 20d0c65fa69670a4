"""What an env leaves outside its own process, written down so that its pool can remove it after a crash.

An env worker that is killed (a step timeout, a crash, SIGKILL) never runs ``close()``: a temp dir, a
language server in its own session, a pids cgroup would outlive it. Whatever starts such a thing calls
``token = own(kind, ref)`` and, when it removes the thing itself, ``release(token)``. Inside an
:class:`~densegym.envpool.EnvPool` worker each call appends a line to the worker's ledger file; when the
pool kills that worker, or closes, it calls :func:`sweep` on the ledger, which removes whatever was owned
and never released. Outside a pool nothing is written, and an env's ``close()`` and finalizers do the work.

When the pool's own process dies, nobody sweeps: the next pool that starts, and ``densegym cleanup``, do
(:func:`sweep_orphans`).

Kinds: ``"dir"`` (removed with its contents), ``"process_group"`` (killed, and waited for), ``"cgroup"``
(its processes killed, then the group removed), ``"container"`` (a Docker container, force-removed by id).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

KINDS = ("dir", "process_group", "cgroup", "container")

_ledger: str | None = None
_ids = itertools.count(1)


def set_ledger(path: str | os.PathLike | None) -> None:
    """Make this process write what it owns to ``path`` (a pool worker does, at its start)."""
    global _ledger
    _ledger = os.fspath(path) if path is not None else None


def _append(entry: dict) -> None:
    if _ledger is None:
        return
    try:
        with open(_ledger, "a") as fh:
            fh.write(json.dumps(entry) + "\n")
    except OSError:
        pass  # the ledger is a safety net; the thing itself still works


def own(kind: str, ref: str | int) -> int | None:
    """Record that this process started ``ref`` (a path, or a process group's id) and must remove it."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    if _ledger is None:
        return None
    token = next(_ids)
    _append({"op": "own", "id": token, "pid": os.getpid(), "kind": kind, "ref": ref})
    return token


def release(token: int | None) -> None:
    """The owner removed the thing itself."""
    if token is not None:
        _append({"op": "release", "id": token, "pid": os.getpid()})


def outstanding(path: str | os.PathLike) -> list[tuple[str, str | int]]:
    """``(kind, ref)`` of everything the ledger at ``path`` owns and never released."""
    owned: dict[tuple[int, int], tuple[str, str | int]] = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
            key = (int(entry["pid"]), int(entry["id"]))
            if entry["op"] == "own" and entry["kind"] in KINDS:
                owned[key] = (entry["kind"], entry["ref"])
            elif entry["op"] == "release":
                owned.pop(key, None)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by the kill
    return list(owned.values())


def sweep(path: str | os.PathLike) -> list[tuple[str, str | int]]:
    """Remove everything the ledger at ``path`` still owns (processes first, then directories), then the
    ledger itself. Call it only once the process that wrote the ledger is dead. Returns what it removed."""
    left = outstanding(path)
    for kind, ref in sorted(left, key=lambda kr: KINDS.index(kr[0]), reverse=True):  # containers ... dirs
        if kind == "container":
            _remove_container(str(ref))
        elif kind == "process_group":
            _kill_group(int(ref))
        elif kind == "cgroup":
            _remove_cgroup(Path(str(ref)))
        else:
            shutil.rmtree(str(ref), ignore_errors=True)
    try:
        os.unlink(path)
    except OSError:
        pass
    return left


def _kill_group(pgid: int) -> None:
    from densegym.sandbox.processes import kill_group_and_wait

    if pgid > 1 and pgid != os.getpgrp():
        kill_group_and_wait(pgid, timeout_s=5.0)


def _docker_client(timeout: int = 30):
    """A Docker client for a sweep, or None when the package or the daemon is missing (nothing to sweep then)."""
    try:
        import docker

        return docker.from_env(timeout=timeout)
    except Exception:
        return None


def _remove_container(cid: str) -> None:
    client = _docker_client()
    if client is not None:
        try:
            client.api.remove_container(cid, force=True)
            return
        except Exception as exc:
            if "No such container" in str(exc) or "404" in str(exc):
                return
        finally:
            client.close()
    try:  # no Python package (or it failed): the CLI, if there is one
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        pass


def _remove_cgroup(path: Path) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


# ---- a crashed run's leftovers ------------------------------------------------------------------------------
#
# A pool keeps its workers' ledgers in one directory with an ``owner`` file (the pool process's pid and start
# time). If the pool's own process dies without closing it (SIGKILL, OOM), nobody sweeps them: the next pool
# that starts, and ``densegym cleanup``, sweep every pool directory whose owner is gone.

POOL_DIR_PREFIX = "densegym-pool-"


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pool_dir() -> str:
    """A new directory for one pool's ledgers, marked with its owner (this process)."""
    path = tempfile.mkdtemp(prefix=POOL_DIR_PREFIX)
    Path(path, "owner").write_text(json.dumps({"pid": os.getpid(), "start": _start_time(os.getpid())}))
    return path


def _owner_alive(path: Path) -> bool:
    try:
        owner = json.loads((path / "owner").read_text())
        pid = int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return _start_time(pid) is not None and _start_time(pid) == owner.get("start")


def _this_machine() -> str:
    """Where a pid means this process table: the host name and the pid namespace."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = "?"
    return f"{socket.gethostname()}/{namespace}"


def container_owner_labels() -> dict[str, str]:
    """Labels of a container this process owns, so that :func:`sweep_orphans` can tell when its owner is gone."""
    pid = os.getpid()
    return {"densegym.owner": str(pid), "densegym.owner_start": str(_start_time(pid)),
            "densegym.owner_machine": _this_machine()}  # fmt: skip


def _orphan_containers() -> list[tuple[str, str | int]]:
    """Remove the containers labelled with an owner process of this machine that is gone. Only a local daemon
    is asked (a pid means nothing to a remote one), and only when the docker package is installed."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://") or not os.path.exists(host[len("unix://"):]):
        return []
    client = _docker_client(timeout=10)
    if client is None:
        return []
    removed: list[tuple[str, str | int]] = []
    try:
        machine = _this_machine()
        for c in client.api.containers(all=True, filters={"label": f"densegym.owner_machine={machine}"}):
            labels = c.get("Labels") or {}
            try:
                pid = int(labels["densegym.owner"])
            except (KeyError, ValueError):
                continue
            if str(_start_time(pid)) != labels.get("densegym.owner_start"):
                _remove_container(c["Id"])
                removed.append(("container", c["Id"]))
    except Exception:
        pass  # a daemon that does not answer: nothing to sweep now
    finally:
        client.close()
    return removed


def sweep_orphans(tmp: str | None = None) -> list[tuple[str, str | int]]:
    """Sweep the ledgers of every pool whose process is gone, and remove their directories; then (for the real
    temp directory, not a test's ``tmp``) remove the containers whose owner process is gone."""
    removed: list[tuple[str, str | int]] = []
    for path in sorted(Path(tmp or tempfile.gettempdir()).glob(POOL_DIR_PREFIX + "*")):
        if not path.is_dir() or _owner_alive(path):
            continue
        for ledger in sorted(path.glob("*.jsonl")):
            removed += sweep(ledger)
        shutil.rmtree(path, ignore_errors=True)
    if tmp is None:
        removed += _orphan_containers()
    return removed
