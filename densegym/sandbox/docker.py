"""A Docker executor: one container per episode, the same :class:`~densegym.sandbox.protocol.Executor` API as
:class:`~densegym.sandbox.executor.LocalExecutor`, so that the same env code runs on either.

The container is the sandbox: no network, a read-only root file system, tmpfs ``/tmp`` and ``/workspace``
as the only writable places (size-capped), memory without swap, a CPU share and a pids limit, every
capability dropped but the few the executor's own file operations need as root (an agent command runs as
uid 1000 and has no capability at all), ``no-new-privileges``. What an agent command leaves behind never
outlives it: a small supervisor in the container (root, started with it) keeps one *killer* process per
command user, and a command that times out, floods its output or dies by a signal is ended by
``kill(-1, SIGKILL)`` from that killer. The kernel makes that atomic with respect to ``fork``, so a fork
bomb that fills the pids limit (where not even ``docker exec`` could start a ``kill``) dies in one call.
The killer runs with a real uid of its own and the command user's uid as effective uid, so it can signal
the user's processes but they cannot signal it. A command that ends normally is cleaned up inline: its
wrapper shell runs ``kill -9 -1`` as the command user once the command has returned.

File operations run as root through one exec of a small Python helper (``openat`` with ``O_NOFOLLOW``
along every path component), so a symlink an agent planted is refused, never followed. Since no agent
process survives a command, nothing changes the tree while the executor reads or writes it.

A fork (a hidden test run) is a root-owned copy of the workspace's visible files under ``/tmp`` in the
same container, and its commands run as uid 1001: they can change neither the copy (its tests and the
channel plugin) nor the agent's workspace.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import re
import secrets
import select
import socket
import struct
import subprocess
import tarfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from densegym import leftovers, resources
from densegym.sandbox.executor import CHANNEL_FD_VAR, ExecResult, Limits
from densegym.sandbox.workspace import PathEscape, Workspace

DEFAULT_IMAGE = "densegym/sandbox:1"
AGENT_UID = 1000
FORK_UID = 1001  # a fork's commands: not the owner of the agent's workspace nor of the fork's copy
_KILL_SIGNAL = {AGENT_UID: "SIGUSR1", FORK_UID: "SIGUSR2"}
_MAX_CHANNEL_BYTES = 16 << 20
_FILE_OP_TIMEOUT_S = 120.0
REFILL_DELAY_S = 0.5
_HEADER = struct.Struct(">BxxxL")  # the multiplexed exec stream: stream id, frame length

START_DOCKERD = "dockerd --iptables=false --ip-forward=false --bridge=none &"
BUILD_IMAGES = "bash docker/build.sh"
INSTALL_DOCKER_PACKAGE = "pip install densegym[swe]"


class DockerUnavailable(RuntimeError):
    """The Docker package, the daemon or an image the executor needs is missing; the message says how to fix
    it."""


@dataclass(frozen=True)
class ContainerSettings:
    """What a container gets (fixed at its creation, unlike the per-command :class:`Limits`)."""

    memory_bytes: int = 2 << 30
    cpus: float = 1.0
    pids: int = 256
    workspace_bytes: int = 512 << 20
    tmp_bytes: int = 512 << 20


# ---- inside the container ------------------------------------------------------------------------------

# The container's main process (under docker-init, which forwards signals to it). It is root and starts one
# killer per command user; SIGUSR1/SIGUSR2 from `docker kill` wake the killer of uid 1000/1001.
_SUPERVISOR = r"""
import os, signal
def killer(uid):
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(w)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        # real and saved uid of its own: the user's processes cannot signal it; effective uid the user's:
        # kill(-1) reaches every process of that user, and no one else's.
        os.setresuid(uid + 100000, uid, uid + 100000)
        while os.read(r, 1):
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        os._exit(0)
    os.close(r)
    return w
pipes = {signal.SIGUSR1: killer(1000), signal.SIGUSR2: killer(1001)}
for sig in pipes:
    signal.signal(sig, lambda s, f: os.write(pipes[s], b"k"))
while True:
    signal.pause()
"""

# Runs every command as the command user: limits, the cwd, stderr into stdout (the order kept), the side
# channel as fd 3 (the exec's own stderr), then every process of the user killed once the command returned.
_WRAPPER = r"""
exec 4>&2 2>&1
ulimit -c 0; ulimit -v "$1"; ulimit -f "$2"; ulimit -t "$3"
cd -- "$4" || exit 126
shift 4
if [ -n "${DENSEGYM_CHANNEL_FD:-}" ]; then "$@" 3>&4 4>&- </dev/null; else "$@" 4>&- </dev/null; fi
rc=$?
kill -9 -1 2>/dev/null
exit $rc
"""

# The executor's file operations, as root: one request (JSON on stdin), one answer (JSON on stdout).
_HELPER = r"""
import json, os, shutil, stat, sys
req = json.loads(sys.stdin.buffer.read())
root, uid, limit = req["root"], req["uid"], req["max_file_bytes"]
NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW

class Escape(Exception):
    pass

def parent(rel, create=False):
    # the open directory that holds rel, and rel's last name; never through a symlink
    fd = os.open(root, NOFOLLOW_DIR)
    *dirs, name = rel.split("/")
    for part in dirs:
        try:
            nxt = os.open(part, NOFOLLOW_DIR, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                os.close(fd)
                raise
            os.mkdir(part, 0o755, dir_fd=fd)
            os.chown(part, uid, uid, dir_fd=fd, follow_symlinks=False)
            nxt = os.open(part, NOFOLLOW_DIR, dir_fd=fd)
        except OSError:
            link = kind(fd, part) == stat.S_IFLNK
            os.close(fd)
            if link:
                raise Escape(f"path {rel!r} passes through a symlink, which the workspace does not follow")
            raise FileNotFoundError(rel)  # a file where a directory should be
        os.close(fd)
        fd = nxt
    return fd, name

def kind(fd, name):
    try:
        return stat.S_IFMT(os.lstat(name, dir_fd=fd).st_mode)
    except FileNotFoundError:
        return None

def read_bytes(rel, cap=None):
    fd, name = parent(rel)
    try:
        k = kind(fd, name)
        if k == stat.S_IFLNK:
            raise Escape(f"path {rel!r} passes through a symlink, which the workspace does not follow")
        if k != stat.S_IFREG:
            raise FileNotFoundError(rel)
        f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        with os.fdopen(f, "rb") as fh:
            if cap is not None and os.fstat(fh.fileno()).st_size > cap:
                raise Escape(f"{rel!r} is larger than {cap:,} bytes")
            return fh.read()
    finally:
        os.close(fd)

def read(rel):
    return read_bytes(rel, limit).decode("utf-8", "replace")

def write(rel, data, mode=0o644):
    fd, name = parent(rel, create=True)
    try:
        k = kind(fd, name)
        if k == stat.S_IFLNK:
            raise Escape(f"path {rel!r} passes through a symlink, which the workspace does not follow")
        if k not in (None, stat.S_IFREG):
            raise Escape(f"{rel!r} is not a regular file")
        tmp = f".tmp-{os.getpid()}-{name}"[:255]
        f = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=fd)
        with os.fdopen(f, "wb") as fh:
            fh.write(data)
            os.fchown(fh.fileno(), uid, uid)
        os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)

def files(top, suffix=""):
    out = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in filenames:
            full = os.path.join(dirpath, name)
            if not name.startswith(".") and name.endswith(suffix) and stat.S_ISREG(os.lstat(full).st_mode):
                out.append(os.path.relpath(full, top))
    return sorted(out)

def unlink(rel):
    fd, name = parent(rel)
    try:
        if kind(fd, name) == stat.S_IFLNK:
            raise Escape(f"path {rel!r} passes through a symlink, which the workspace does not follow")
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)

def wipe(top):
    for entry in os.scandir(top):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)

def op(name, a):
    global root, uid
    if name == "read":
        return read(a["path"])
    if name == "write":
        return write(a["path"], a["text"].encode("utf-8", "surrogatepass"))
    if name == "exists":
        try:
            fd, last = parent(a["path"])
        except (Escape, FileNotFoundError, NotADirectoryError):
            return False
        try:
            return kind(fd, last) == stat.S_IFREG
        finally:
            os.close(fd)
    if name == "delete":
        return unlink(a["path"])
    if name == "list":
        return files(root, a["suffix"])
    if name == "snapshot":
        return {rel: read(rel) for rel in files(root, a["suffix"])}
    if name == "restore":
        if a["suffix"] == "":
            wipe(root)  # exactly these files: hidden ones and caches of the last episode go too
        else:
            for rel in files(root, a["suffix"]):
                if rel not in a["files"]:
                    unlink(rel)
        for rel, text in a["files"].items():
            write(rel, text.encode("utf-8", "surrogatepass"))
        return None
    if name == "fork":
        # visible regular files only, like Workspace.copy_to; root-owned, so no command can change them
        sources = {rel: read_bytes(rel) for rel in files(root)}
        os.mkdir(a["dest"], 0o755)
        root, uid = a["dest"], 0
        for rel, data in sources.items():
            write(rel, data)
        return None
    if name == "freeze":
        before = []
        for rel in a["paths"]:
            fd, last = parent(rel)
            try:
                if kind(fd, last) != stat.S_IFREG:
                    raise Escape(f"{rel!r} is not a regular file of the workspace")
                st = os.stat(last, dir_fd=fd, follow_symlinks=False)
                before.append([rel, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)])
                os.chown(last, 0, 0, dir_fd=fd, follow_symlinks=False)
                os.chmod(last, 0o444, dir_fd=fd)
            finally:
                os.close(fd)
        return before
    if name == "thaw":
        for rel, u, g, mode in a["before"]:
            try:
                fd, last = parent(rel)
            except (Escape, FileNotFoundError, NotADirectoryError):
                continue
            try:
                if kind(fd, last) == stat.S_IFREG:
                    os.chown(last, u, g, dir_fd=fd, follow_symlinks=False)
                    os.chmod(last, mode, dir_fd=fd)
            finally:
                os.close(fd)
        return None
    if name == "rmtree":
        shutil.rmtree(root, ignore_errors=True)
        return None
    raise ValueError(name)

try:
    answer = {"ok": op(req["op"], req)}
except Escape as e:
    answer = {"error": "escape", "message": str(e)}
except FileNotFoundError as e:
    answer = {"error": "missing", "message": str(e)}
except (NotADirectoryError, IsADirectoryError) as e:
    answer = {"error": "missing", "message": str(e)}
sys.stdout.write(json.dumps(answer))
"""


# ---- the Docker client -----------------------------------------------------------------------------------


def _docker_module():
    try:
        import docker
    except ImportError as exc:
        raise DockerUnavailable(f"the Python package 'docker' is not installed: {INSTALL_DOCKER_PACKAGE}") from exc
    return docker


def _make_client():
    docker = _docker_module()
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:
        raise DockerUnavailable(
            f"no Docker daemon is reachable ({exc.__class__.__name__}: {exc}). Start one without a bridge network: "
            f"{START_DOCKERD}"
        ) from exc
    return client


def client():
    """This process's Docker client (one per process: its connection pool serves every executor)."""
    return resources.shared("docker.client", _make_client)


def docker_available(image: str = DEFAULT_IMAGE) -> bool:
    """Whether a Docker daemon answers and ``image`` is there (tests, and an env choosing its executor)."""
    if not os.environ.get("DOCKER_HOST") and not os.path.exists("/var/run/docker.sock"):
        return False  # no daemon to ask: the client would open, fail and leak a socket finding that out
    try:
        docker = _docker_module()
        probe = docker.from_env(timeout=5)
        try:
            probe.images.get(image)
        finally:
            probe.close()
    except Exception:
        return False
    return True


def _require_image(api, image: str) -> None:
    docker = _docker_module()
    try:
        api.inspect_image(image)
    except docker.errors.ImageNotFound:
        raise DockerUnavailable(f"the image {image!r} is missing; build the sandbox images: {BUILD_IMAGES}") from None


def _owner_labels(pool_id: str) -> dict[str, str]:
    return {"densegym.pool": pool_id, **leftovers.container_owner_labels()}


def _start_container(api, image: str, settings: ContainerSettings, pool_id: str) -> tuple[str, int | None]:
    """Create and start one idle container; returns its id and its ledger token."""
    host_config = api.create_host_config(
        network_mode="none",
        mem_limit=settings.memory_bytes,
        memswap_limit=settings.memory_bytes,  # equal: no swap
        nano_cpus=int(settings.cpus * 1e9),
        pids_limit=settings.pids,
        read_only=True,
        tmpfs={  # exec: an agent runs its own scripts (./run_tests.sh), as it may on the local executor
            "/tmp": f"size={settings.tmp_bytes},mode=1777,exec",
            "/workspace": f"size={settings.workspace_bytes},uid={AGENT_UID},gid={AGENT_UID},mode=0755,exec",
        },
        cap_drop=["ALL"],
        # For the executor's own work as root (files owned by the agent, the killers' uids); an agent command
        # runs as uid 1000 and gets none of them (no-new-privileges: not through a setuid binary either).
        cap_add=["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
        security_opt=["no-new-privileges"],
        init=True,
    )
    # The signals stay ignored until the supervisor handles them: an early one must not end the container.
    command = ["sh", "-c", 'trap "" USR1 USR2; exec python3 -I -S -c "$0"', _SUPERVISOR]
    created = api.create_container(
        image, command=command, user="0", working_dir="/workspace", labels=_owner_labels(pool_id),
        host_config=host_config, network_disabled=True,
    )  # fmt: skip
    cid = created["Id"]
    token = leftovers.own("container", cid)  # before start: a crash from here on leaves it in the ledger
    try:
        api.start(cid)
    except BaseException:
        _remove_container(api, cid, token)
        raise
    return cid, token


def _remove_container(api, cid: str, token: int | None) -> None:
    """Force-remove ``cid`` (a finalizer too, so it must not need the executor), then release its token."""
    try:
        api.remove_container(cid, force=True)
    except Exception as exc:
        if "No such container" not in str(exc) and "404" not in str(exc):
            try:  # the client is unusable (closed at exit, say): the CLI, if there is one
                subprocess.run(["docker", "rm", "-f", cid], capture_output=True, timeout=60, check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass
    leftovers.release(token)


# ---- one exec ----------------------------------------------------------------------------------------------


@dataclass
class _Exec:
    stdout: bytes
    stderr: bytes
    exit_code: int | None
    timed_out: bool
    overflow: bool


class _Container:
    """A started container and who removes it: shared by an executor and its forks."""

    def __init__(self, api, cid: str, token: int | None, pool_id: str):
        self.api, self.id, self.pool_id = api, cid, pool_id
        # The digest of the files /workspace holds exactly, as the executor loaded them, while no command or
        # write has touched it since; None once anything may have.
        self.loaded: str | None = None
        self.remove = weakref.finalize(self, _remove_container, api, cid, token)

    def kill_user(self, uid: int) -> None:
        """Wake the killer of ``uid``: every process of that user dies at once, whatever it did. (The
        executor's own root helpers have none: they end by themselves.)"""
        if uid not in _KILL_SIGNAL:
            return
        try:
            self.api.kill(self.id, signal=_KILL_SIGNAL[uid])
        except Exception:
            pass  # a container already gone has nothing left to kill

    def _kill_by_exec(self, uid: int) -> None:
        try:
            exec_id = self.api.exec_create(self.id, ["sh", "-c", "kill -9 -1"], user=f"{uid}:{uid}")["Id"]
            self.api.exec_start(exec_id, detach=True)
        except Exception:
            pass

    def exec(
        self,
        argv: Sequence[str],
        *,
        user: int,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        timeout_s: float = _FILE_OP_TIMEOUT_S,
        max_stdout: int | None = None,
    ) -> _Exec:
        """Run ``argv`` as ``user``, reading its multiplexed stream until it ends, ``timeout_s`` passes or
        stdout passes ``max_stdout`` bytes; in the last two cases the user's processes are killed."""
        deadline = time.monotonic() + timeout_s
        exec_id = self.api.exec_create(
            self.id, list(argv), stdin=stdin is not None, user=f"{user}:{user}",
            environment=[f"{k}={v}" for k, v in (env or {}).items()],
        )["Id"]  # fmt: skip
        raw = self.api.exec_start(exec_id, socket=True)
        sock: socket.socket = getattr(raw, "_sock", raw)
        out, err, pending = bytearray(), bytearray(), bytearray()
        timed_out = overflow = eof = False
        try:
            # The HTTP parser may have read the first frames along with the upgrade's headers.
            response = getattr(raw, "_response", None)
            if response is not None:
                sock.setblocking(False)
                pending += response.raw._fp.fp.read1(65536) or b""
            if stdin is not None:
                sock.setblocking(True)
                sock.sendall(stdin)
                sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            next_check = time.monotonic() + 0.5
            ended_at = None
            while not eof:
                now = time.monotonic()
                if now >= deadline:
                    timed_out = True
                    break
                if now >= next_check:
                    # The exec's process has ended but something it started still holds the stream (it got
                    # past the wrapper's clean-up): a short grace, then it dies.
                    next_check = now + 0.5
                    if ended_at is None and not self.api.exec_inspect(exec_id)["Running"]:
                        ended_at = now
                    elif ended_at is not None and now >= ended_at + 0.5:
                        break
                ready, _, _ = select.select([sock], [], [], min(deadline - now, 0.25))
                if ready:
                    try:
                        chunk = sock.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    eof = not chunk
                    pending += chunk
                overflow = _demux(pending, out, err, max_stdout)
                if overflow:
                    break
            if not eof:
                self.kill_user(user)
                eof = _drain(sock, time.monotonic() + 3.0)
                if not eof and user in _KILL_SIGNAL:  # the killer did not answer (its supervisor gone?): an exec
                    self._kill_by_exec(user)
        finally:
            # The socket closes for real only when its SocketIO wrapper lets go too (a makefile reference).
            for stream in (raw, getattr(raw, "_response", None), sock):
                if stream is not None:
                    try:
                        stream.close()
                    except Exception:
                        pass
        code = None if timed_out else _exit_code(self.api, exec_id)
        return _Exec(bytes(out), bytes(err), code, timed_out, overflow)


def _demux(pending: bytearray, out: bytearray, err: bytearray, max_stdout: int | None) -> bool:
    """Move the complete frames of ``pending`` into ``out`` (stdout) and ``err`` (stderr); True once a cap is
    passed (what fits is kept)."""
    while len(pending) >= _HEADER.size:
        stream, size = _HEADER.unpack_from(pending)
        if len(pending) < _HEADER.size + size:
            return False
        data = bytes(pending[_HEADER.size : _HEADER.size + size])
        del pending[: _HEADER.size + size]
        buf, cap = (out, max_stdout) if stream == 1 else (err, _MAX_CHANNEL_BYTES)
        if stream not in (1, 2):
            continue
        if cap is not None and len(buf) + len(data) > cap:
            buf += data[: max(cap - len(buf), 0)]
            return True
        buf += data
    return False


def _drain(sock: socket.socket, until: float) -> bool:
    """Read and drop what is left until the stream ends (the kill closes it) or ``until``."""
    while time.monotonic() < until:
        ready, _, _ = select.select([sock], [], [], 0.1)
        if ready:
            try:
                if not sock.recv(1 << 16):
                    return True
            except BlockingIOError:
                pass
            except OSError:
                return True
    return False


def _exit_code(api, exec_id: str) -> int | None:
    for _ in range(50):  # the stream can end a moment before the daemon records the exit
        info = api.exec_inspect(exec_id)
        if not info["Running"]:
            return info["ExitCode"]
        time.sleep(0.02)
    return None


# ---- the executor ------------------------------------------------------------------------------------------


def files_digest(files: Mapping[str, str]) -> str:
    """A content hash of a file mapping: equal mappings, equal digests."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + files[rel].encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def _relpath(path: str) -> str:
    return Workspace.relpath(None, path)  # type: ignore[arg-type]  # the jail's rules need no instance


def _join(cwd: str, path: str) -> str:
    """``path`` relative to the workspace-relative ``cwd``, jailed."""
    return _relpath(path) if cwd in ("", ".") else _relpath(f"{_relpath(cwd)}/{path}")


class DockerExecutor:
    """Runs commands in a container of ``image``, in its ``/workspace``: the executor of the SWE family.

    Args:
        image: the image (default the sandbox image; in practice a project's, see :func:`ensure_project_image`).
        limits: the default :class:`Limits` of a command.
        settings: the container's :class:`ContainerSettings` (memory, CPUs, pids, tmpfs sizes).
        max_file_bytes: the largest file ``read`` returns.

    ``DockerExecutor.from_pool(image)`` takes an already started container from this process's
    :class:`ContainerPool` instead of starting one (a reset in milliseconds, not a second).
    """

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        limits: Limits | None = None,
        *,
        settings: ContainerSettings | None = None,
        max_file_bytes: int = 1 << 20,
        _container: _Container | None = None,
        _root: str = "/workspace",
        _uid: int = AGENT_UID,
    ):
        self.image = image
        self.limits = limits or Limits()
        self.settings = settings or ContainerSettings()
        self.max_file_bytes = int(max_file_bytes)
        if _container is None:
            api = client().api
            _require_image(api, image)
            pool_id = f"{os.getpid()}-{secrets.token_hex(4)}"
            _container = _Container(api, *_start_container(api, image, self.settings, pool_id), pool_id)
        self._box = _container
        self._root = _root
        self._uid = _uid
        self._closed = False

    @classmethod
    def from_pool(
        cls,
        image: str = DEFAULT_IMAGE,
        limits: Limits | None = None,
        *,
        size: int = 2,
        settings: ContainerSettings | None = None,
        files: Mapping[str, str] | None = None,
    ) -> DockerExecutor:
        """An executor over a warm container of this process's pool for ``image`` (and ``files``, preloaded
        into its workspace: the ``restore(files)`` of a reset is then free), started cold when none is
        ready; the pool starts a replacement in the background."""
        return ContainerPool.shared(image, size=size, settings=settings, files=files).acquire(limits)

    # ---- what it is ----------------------------------------------------------------------------------

    @property
    def isolated(self) -> bool:
        return True

    @property
    def python(self) -> str:
        return "python3"

    @property
    def root(self) -> str:
        return self._root

    @property
    def container_id(self) -> str:
        return self._box.id

    @property
    def pool_id(self) -> str:
        """The ``densegym.pool`` label of its container."""
        return self._box.pool_id

    # ---- files (as root, jailed) ----------------------------------------------------------------------

    def _file_op(self, op: str, **args: Any) -> Any:
        owner = AGENT_UID if self._uid == AGENT_UID else 0
        request = {"op": op, "root": self._root, "uid": owner, "max_file_bytes": self.max_file_bytes, **args}
        done = self._box.exec(["python3", "-I", "-S", "-c", _HELPER], user=0, stdin=json.dumps(request).encode())
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            raise RuntimeError(f"the container's file helper failed ({op}): "
                               f"{(done.stdout + done.stderr).decode(errors='replace')[-2000:]}") from None  # fmt: skip
        if answer.get("error") == "escape":
            raise PathEscape(answer["message"])
        if answer.get("error") == "missing":
            raise FileNotFoundError(f"no file {args.get('path', '')!r} in the workspace")
        return answer["ok"]

    def read(self, path: str) -> str:
        return self._file_op("read", path=_relpath(path))

    def write(self, path: str, text: str) -> str:
        rel = _relpath(path)
        if len(text.encode("utf-8", "surrogatepass")) > self.max_file_bytes:
            raise PathEscape(f"the new {rel!r} would be larger than {self.max_file_bytes:,} bytes")
        self._touched()
        self._file_op("write", path=rel, text=text)
        return rel

    def exists(self, path: str) -> bool:
        try:
            rel = _relpath(path)
        except PathEscape:
            return False
        return self._file_op("exists", path=rel)

    def list(self, suffix: str = "") -> list[str]:
        return self._file_op("list", suffix=suffix)

    def delete(self, path: str) -> None:
        self._touched()
        self._file_op("delete", path=_relpath(path))

    def snapshot(self, suffix: str = "") -> dict[str, str]:
        return self._file_op("snapshot", suffix=suffix)

    def restore(self, files: Mapping[str, str], suffix: str = "") -> None:
        """Make the workspace's ``suffix`` files exactly ``files``, in one exec. With ``suffix=""`` the
        workspace is wiped first (hidden files and caches too): an episode's reset loads its repository so.

        Nothing at all is done when the workspace holds exactly ``files`` already, untouched since they were
        loaded: a container from a pool that preloads the repository (``ContainerPool(files=...)``)."""
        files = {_relpath(rel): text for rel, text in files.items()}
        digest = files_digest(files) if suffix == "" and self._uid == AGENT_UID else None
        if digest is not None and digest == self._box.loaded:
            return
        self._touched()
        self._file_op("restore", files=files, suffix=suffix)
        self._box.loaded = digest

    def _touched(self) -> None:
        if self._uid == AGENT_UID:
            self._box.loaded = None

    def fork(self) -> DockerExecutor:
        """A root-owned copy of the workspace in the same container, whose commands run as uid 1001: they
        can change neither the copy nor the agent's workspace. Closing it removes the copy."""
        dest = f"/tmp/densegym-fork-{secrets.token_hex(8)}"
        self._file_op("fork", dest=dest)
        return DockerExecutor(self.image, self.limits, settings=self.settings, max_file_bytes=self.max_file_bytes,
                              _container=self._box, _root=dest, _uid=FORK_UID)  # fmt: skip

    # ---- commands -------------------------------------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        cwd: str = ".",
        *,
        env: Mapping[str, str] | None = None,
        limits: Limits | None = None,
        channel: bool = False,
        read_only: Sequence[str] = (),
    ) -> ExecResult:
        """Run ``argv`` in the workspace directory ``cwd`` (workspace-relative, jailed) and return what it did;
        it never outlives ``limits.timeout_s``, and nothing it started outlives it.

        ``channel=True``: the command finds the side channel's fd in ``$DENSEGYM_CHANNEL_FD`` (fd 3, the
        exec's stderr; the command's own stderr goes to stdout). ``read_only`` paths (relative to ``cwd``)
        are made root-owned and 0444 for the run; in a fork every file is read-only to the command anyway.
        """
        lim = limits or self.limits
        start = time.monotonic()
        workdir = self._root if str(cwd) in ("", ".") else f"{self._root}/{_relpath(str(cwd))}"
        rel_cwd = "." if str(cwd) in ("", ".") else _relpath(str(cwd))
        frozen = [_join(rel_cwd, str(p)) for p in read_only]
        full_env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": workdir,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            **(env or {}),
        }
        full_env.pop(CHANNEL_FD_VAR, None)
        if channel:
            full_env[CHANNEL_FD_VAR] = "3"
        self._touched()
        before = self._file_op("freeze", paths=frozen) if frozen and self._uid == AGENT_UID else None
        try:
            done = self._box.exec(
                ["sh", "-c", _WRAPPER, "sh", str(lim.max_memory_bytes // 1024), str(max(lim.max_file_bytes // 512, 1)),
                 str(int(lim.timeout_s) + 2), workdir, *argv],
                user=self._uid, env=full_env, timeout_s=lim.timeout_s, max_stdout=lim.max_output_bytes,
            )  # fmt: skip
            if done.timed_out or done.overflow or (done.exit_code or 0) >= 128:
                self._box.kill_user(self._uid)  # the wrapper itself may not have got to its clean-up
        finally:
            if before:
                self._file_op("thaw", before=before)
        return ExecResult(
            returncode=done.exit_code,
            output=done.stdout.decode("utf-8", errors="replace"),
            timed_out=done.timed_out,
            output_truncated=done.overflow,
            seconds=time.monotonic() - start,
            isolated=True,
            channel=done.stderr if channel else b"",
        )

    # ---- lifetime -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the container (a fork: its copy); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._uid == FORK_UID:
            try:
                self._file_op("rmtree")
            except Exception:
                pass  # the container is gone already: so is the copy
        else:
            self._box.remove()

    def __enter__(self) -> DockerExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- the warm pool -----------------------------------------------------------------------------------------


class ContainerPool:
    """Keeps ``size`` started, idle containers of ``image`` ready, refilled in a background thread, so that an
    episode's reset takes one instead of creating and starting one. With ``files`` (a task's repository),
    each idle container's workspace is loaded with them in the background too, and the reset's
    ``restore(files)`` finds nothing to do. One pool per image, settings and files per process:
    :meth:`shared`. A taken container is the executor's (closing it removes it); closing the pool removes
    its idle ones."""

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        size: int = 2,
        settings: ContainerSettings | None = None,
        files: Mapping[str, str] | None = None,
    ):
        self.image = image
        self.size = int(size)
        self.settings = settings or ContainerSettings()
        self.files = {_relpath(rel): text for rel, text in (files or {}).items()} if files is not None else None
        self.id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._api = client().api
        _require_image(self._api, image)
        self._ready: queue.Queue[_Container] = queue.Queue()
        self._wanted = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._refill, name=f"densegym-pool-{self.id}", daemon=True)
        self._thread.start()
        self._wanted.set()

    @classmethod
    def shared(
        cls,
        image: str = DEFAULT_IMAGE,
        *,
        size: int = 2,
        settings: ContainerSettings | None = None,
        files: Mapping[str, str] | None = None,
    ) -> ContainerPool:
        """This process's pool for ``image``, ``size``, ``settings`` and ``files``."""
        settings = settings or ContainerSettings()
        key = ("docker.pool", image, int(size), settings, None if files is None else files_digest(files))
        return resources.shared(key, lambda: cls(image, size, settings, files))

    def _start(self) -> _Container:
        box = _Container(self._api, *_start_container(self._api, self.image, self.settings, self.id), self.id)
        if self.files is not None:
            try:
                DockerExecutor(self.image, _container=box).restore(self.files)
            except BaseException:
                box.remove()
                raise
        return box

    def _refill(self) -> None:
        while not self._closed.is_set():
            self._wanted.wait(timeout=1.0)
            self._wanted.clear()
            # Let the reset that took a container finish first: a container started at the same moment would
            # compete with it for the daemon and the CPU.
            self._closed.wait(REFILL_DELAY_S)
            while not self._closed.is_set() and self._ready.qsize() < self.size:
                try:
                    box = self._start()
                except Exception:
                    time.sleep(1.0)  # the daemon is busy or gone: try again, never crash the worker
                    continue
                with self._lock:
                    if self._closed.is_set():
                        box.remove()
                        return
                    self._ready.put(box)

    def acquire(self, limits: Limits | None = None, max_file_bytes: int = 1 << 20) -> DockerExecutor:
        """An executor over a ready container, or over one started now when none is."""
        if self._closed.is_set():
            raise RuntimeError("the container pool is closed")
        try:
            box = self._ready.get_nowait()
        except queue.Empty:
            box = self._start()
        self._wanted.set()
        return DockerExecutor(self.image, limits, settings=self.settings, max_file_bytes=max_file_bytes, _container=box)

    @property
    def idle(self) -> int:
        return self._ready.qsize()

    def close(self) -> None:
        """Stop refilling and remove the idle containers (taken ones are their executors')."""
        with self._lock:
            self._closed.set()
        self._wanted.set()
        self._thread.join(timeout=30)
        while True:
            try:
                self._ready.get_nowait().remove()
            except queue.Empty:
                return


# ---- one image per repository ----------------------------------------------------------------------------


def ensure_project_image(name: str, files: Mapping[str, str], base: str = DEFAULT_IMAGE) -> str:
    """The tag of an image ``FROM base`` with ``files`` read-only (root-owned, 0444) in ``/repo``, built on
    first use (no network; the build context never touches the disk) and reused while the tag exists: one
    image per repository, so that an episode's reset loads files, never rebuilds.

    The tag is ``densegym/swe-<name>:<content hash prefix>``: a changed repository gets a new image."""
    docker = _docker_module()
    api = client().api
    rels = {_relpath(rel): text for rel, text in files.items()}
    digest = hashlib.sha256(base.encode())
    for rel in sorted(rels):
        digest.update(b"\0" + rel.encode() + b"\0" + rels[rel].encode("utf-8", "surrogatepass"))
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._") or "repo"
    tag = f"densegym/swe-{slug}:{digest.hexdigest()[:12]}"
    try:
        api.inspect_image(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    _require_image(api, base)
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = f"FROM {base}\nCOPY repo/ /repo/\n".encode()
        _add(tar, "Dockerfile", dockerfile, 0o644)
        dirs = sorted({"/".join(rel.split("/")[:i]) for rel in rels for i in range(1, rel.count("/") + 1)})
        _add(tar, "repo", None, 0o555)
        for d in dirs:
            _add(tar, f"repo/{d}", None, 0o555)
        for rel in sorted(rels):
            _add(tar, f"repo/{rel}", rels[rel].encode("utf-8", "surrogatepass"), 0o444)
    context.seek(0)
    try:
        for _ in api.build(fileobj=context, custom_context=True, tag=tag, network_mode="none", rm=True,
                           forcerm=True, decode=True):  # fmt: skip
            if "error" in _:
                raise RuntimeError(f"building {tag} failed: {_['error']}")
    except docker.errors.APIError as exc:
        raise RuntimeError(f"building {tag} failed: {exc}") from exc
    return tag


def _add(tar: tarfile.TarFile, name: str, data: bytes | None, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = 0  # the same files give the same layer
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
