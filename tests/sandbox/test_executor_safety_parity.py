"""The safety cases every executor must pass, run against each: LocalExecutor under bubblewrap and the Docker
executor. Env code runs on either, so neither may be the weaker one."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
from pathlib import Path

import pytest

from densegym.sandbox import Limits, LocalExecutor, PathEscape, bubblewrap_path
from tests.helpers import require

FILES = {"pkg/__init__.py": "", "pkg/mod.py": "X = 1\n", "notes.txt": "n"}
LIMITS = Limits(timeout_s=10, max_output_bytes=100_000)


@pytest.fixture(scope="module")
def docker_pool():
    from densegym.sandbox.docker import ContainerPool, ContainerSettings, docker_available

    require(docker_available(), "Docker with the densegym sandbox image",
            "apt-get install docker.io; dockerd --iptables=false --ip-forward=false --bridge=none &; bash docker/build.sh")  # fmt: skip
    pool = ContainerPool(size=1, settings=ContainerSettings(memory_bytes=512 << 20, pids=64))
    yield pool
    pool.close()


@pytest.fixture(params=["local", "docker"])
def ex(request):
    if request.param == "local":
        require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")
        executor = LocalExecutor(use_bubblewrap=True, limits=LIMITS).fork()
    else:
        executor = request.getfixturevalue("docker_pool").acquire(LIMITS)
    executor.restore(FILES)
    yield executor
    executor.close()


def _processes_matching(ex, needle: str) -> list[str]:
    """Command lines of live processes that contain ``needle`` where the executor's commands run: the host for
    the local executor, the container for Docker (asked as the agent, which sees them all there)."""
    half = len(needle) // 2
    code = (
        "import os\n"
        f"n = {needle[:half]!r} + {needle[half:]!r}\n"  # split: the asking process never matches itself
        "for p in os.listdir('/proc'):\n"
        "    try:\n"
        "        c = open(f'/proc/{p}/cmdline').read().replace('\\0', ' ')\n"
        "    except OSError:\n"
        "        continue\n"
        "    if n in c and str(os.getpid()) != p:\n"
        "        print(c)\n"
    )
    if isinstance(ex, LocalExecutor):
        import sys

        out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()
    r = ex.run([ex.python, "-c", code])
    assert r.returncode == 0, r.output
    return r.output.splitlines()


def test_paths_that_escape_through_the_api_are_refused(ex):
    for bad in ("/etc/passwd", "../escape.txt", "pkg/../../x", ".hidden"):
        with pytest.raises(PathEscape):
            ex.write(bad, "x")
        with pytest.raises(PathEscape):
            ex.read(bad)
        assert not ex.exists(bad)
    with pytest.raises(PathEscape):
        ex.run(["true"], cwd="../")
    # A symlink the agent's command planted is refused, never followed: reads, writes, deletes, listings.
    r = ex.run(["sh", "-c", "ln -s /etc etc && ln -s /etc/passwd passwd.txt && ln -s /tmp tmpdir"])
    assert r.returncode == 0, r.output
    for path in ("etc/passwd", "passwd.txt"):
        with pytest.raises(PathEscape):
            ex.read(path)
        with pytest.raises(PathEscape):
            ex.write(path, "x")
        assert not ex.exists(path)
    with pytest.raises(PathEscape):
        ex.write("tmpdir/planted.txt", "x")
    with pytest.raises(PathEscape):
        ex.delete("passwd.txt")
    assert "passwd.txt" not in ex.list() and not any(p.startswith(("etc/", "tmpdir/")) for p in ex.list())


def test_deleting_host_files_by_absolute_path_fails(ex, tmp_path):
    """The local sandbox binds the host read-only (and hides /tmp and the homes); a container has no host path
    at all. (``rm -rf /`` itself runs against Docker only: see test_docker_executor.py.)"""
    canary_dir = Path("/var/tmp") / f"densegym-canary-{os.getpid()}"
    canary_dir.mkdir(exist_ok=True)
    canary = canary_dir / "canary.txt"
    canary.write_text("alive")
    try:
        r = ex.run(["sh", "-c", f"rm -rf {canary_dir} 2>&1; echo changed > {canary} 2>&1; echo done"])
        assert "done" in r.output and canary.read_text() == "alive"
        assert ex.run(["echo", "fine"]).output.strip() == "fine"
    finally:
        canary.unlink(missing_ok=True)
        canary_dir.rmdir()


def _host_addresses() -> list[str]:
    found = {"127.0.0.1"}
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show"], check=False, capture_output=True, text=True, timeout=10).stdout
        found |= {line.split()[3].split("/")[0] for line in out.splitlines() if len(line.split()) > 3}
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        found |= {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        pass
    return sorted(found)


def test_no_connection_reaches_a_listener_on_the_host(ex):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    addresses = _host_addresses()
    code = (
        "import socket\n"
        f"for host in {addresses!r}:\n"
        "    try:\n"
        f"        socket.create_connection((host, {port}), timeout=2)\n"
        "        print('CONNECTED', host)\n"
        "    except OSError as e:\n"
        "        print('refused', host, type(e).__name__)\n"
    )
    try:
        r = ex.run([ex.python, "-c", code], limits=Limits(timeout_s=30))
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody ever got through
    finally:
        listener.close()
    assert "CONNECTED" not in r.output and r.output.count("refused") == len(addresses), r.output


@pytest.mark.parametrize("flood", ["yes", "python"])
def test_an_output_flood_is_cut_at_the_cap(ex, flood):
    argv = ["yes"] if flood == "yes" else [ex.python, "-c", "import sys\nwhile True: sys.stdout.write('x' * 65536)"]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = ex.run(argv, limits=Limits(timeout_s=30, max_output_bytes=100_000))
    assert r.output_truncated and not r.timed_out and len(r.output.encode()) <= 100_000
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: the host never held it
    assert ex.run(["echo", "fine"]).output.strip() == "fine"


def test_a_timeout_ends_the_command_and_no_daemon_outlives_a_command(ex):
    r = ex.run(["sleep", "600"], limits=Limits(timeout_s=1))
    assert r.timed_out and r.returncode is None
    assert _processes_matching(ex, "sleep 600") == []
    r = ex.run(["sh", "-c", "setsid nohup sleep 603 & echo started"])
    assert r.returncode == 0 and not r.timed_out and "started" in r.output
    assert _processes_matching(ex, "sleep 603") == []


def test_a_memory_hog_fails_and_the_executor_recovers(ex):
    r = ex.run([ex.python, "-c", "x = bytearray(3 << 30)"], limits=Limits(timeout_s=20, max_memory_bytes=1 << 30))
    assert r.returncode not in (0, None) and "MemoryError" in r.output
    assert ex.run(["echo", "fine"]).output.strip() == "fine"


def test_a_fork_runs_read_only_files_with_a_side_channel(ex):
    twin = ex.fork()
    try:
        code = (
            "import os\n"
            "os.write(int(os.environ['DENSEGYM_CHANNEL_FD']), b'via the channel')\n"
            "try:\n    open('notes.txt', 'w').write('changed')\nexcept OSError as e:\n    print('refused', type(e).__name__)\n"
        )
        r = twin.run([twin.python, "-c", code], channel=True, read_only=["notes.txt"])
        assert r.channel == b"via the channel" and "refused" in r.output and twin.read("notes.txt") == "n"
        twin.run(["sh", "-c", "echo 'X = 9' > pkg/mod.py"])
        assert ex.read("pkg/mod.py") == "X = 1\n"  # the fork is a copy
    finally:
        twin.close()
