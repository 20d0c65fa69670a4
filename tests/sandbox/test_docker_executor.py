"""The Docker executor: the Executor protocol in a container, and its safety (real containers, real commands).
The safety cases it shares with LocalExecutor (network, output floods, timeouts, daemons) are in
test_executor_safety_parity.py.

Needs a Docker daemon and the sandbox image (``bash docker/build.sh``); skipped without them on a user's
machine, failed under CI=true.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from densegym import leftovers
from densegym.sandbox import Limits
from densegym.sandbox.docker import ContainerPool, ContainerSettings, DockerExecutor, docker_available
from tests.helpers import require
from tests.sandbox.test_executor_safety_parity import _processes_matching

require(
    docker_available(),
    "Docker with the densegym sandbox image",
    "apt-get install docker.io; dockerd --iptables=false --ip-forward=false --bridge=none &; bash docker/build.sh",
)

SMALL = ContainerSettings(memory_bytes=256 << 20, pids=64, workspace_bytes=64 << 20, tmp_bytes=64 << 20)
REPO = {"pkg/__init__.py": "", "pkg/mod.py": "X = 1\n", "notes.txt": "n"}


@pytest.fixture(scope="module")
def pool():
    pool = ContainerPool(size=1, settings=SMALL)
    yield pool
    pool.close()


@pytest.fixture
def ex(pool):
    executor = pool.acquire(Limits(timeout_s=10, max_output_bytes=10_000))
    executor.restore(REPO)
    yield executor
    executor.close()


def _docker():
    import docker

    return docker.from_env()


def _containers(label: str) -> list:
    return _docker().containers.list(all=True, filters={"label": label})


# ---- the Executor protocol ----------------------------------------------------------------------------------


def test_the_protocol_files_and_commands(ex):
    from densegym.sandbox.protocol import Executor

    assert isinstance(ex, Executor) and ex.isolated and ex.python == "python3" and ex.root == "/workspace"
    ex.write("pkg/sub/new.py", "Y = 2\n")
    assert ex.list(".py") == ["pkg/__init__.py", "pkg/mod.py", "pkg/sub/new.py"]
    assert ex.read("pkg/sub/new.py") == "Y = 2\n" and ex.exists("notes.txt") and not ex.exists("missing.txt")
    with pytest.raises(FileNotFoundError):
        ex.read("missing.txt")
    saved = ex.snapshot()
    ex.delete("notes.txt")
    assert not ex.exists("notes.txt")
    ex.restore(saved)
    assert ex.snapshot() == saved
    # Files the executor writes are the agent's (uid 1000): its commands may edit them.
    r = ex.run(["sh", "-c", "echo 'X = 3' > pkg/mod.py && stat -c %u pkg/mod.py"])
    assert r.returncode == 0 and r.output.strip() == "1000" and ex.read("pkg/mod.py") == "X = 3\n"


def test_run_cwd_output_and_exit_code(ex):
    r = ex.run([ex.python, "-c", "import os, sys; print(os.getcwd(), flush=True); print('err', file=sys.stderr); sys.exit(3)"], "pkg")
    assert r.returncode == 3 and r.output.splitlines() == ["/workspace/pkg", "err"] and r.isolated and not r.ok
    r = ex.run(["id", "-u"])
    assert r.output.strip() == "1000"
    ex.write("run.sh", "#!/bin/sh\necho ran\n")
    r = ex.run(["sh", "-c", "chmod +x run.sh && ./run.sh"])  # its own scripts run, as on the local executor
    assert r.returncode == 0 and r.output.strip() == "ran"


def test_the_environment_is_an_allow_list(ex, monkeypatch):
    monkeypatch.setenv("DENSEGYM_TEST_API_KEY", "sk-not-for-the-agent")
    r = ex.run(["env"], env={"MINE": "1"})
    names = {line.split("=", 1)[0] for line in r.output.splitlines()}
    assert "MINE=1" in r.output and "DENSEGYM_TEST_API_KEY" not in names and "PATH" in names


def test_side_channel(ex):
    code = "import os, sys\nos.write(int(os.environ['DENSEGYM_CHANNEL_FD']), b'via the channel')\nprint('out', flush=True); print('err', file=sys.stderr)"
    r = ex.run([ex.python, "-c", code], channel=True)
    assert r.channel == b"via the channel" and r.output.split() == ["out", "err"]
    r = ex.run(["sh", "-c", 'echo x >&3; echo "fd=${DENSEGYM_CHANNEL_FD:-none}"'])  # no channel asked: no fd 3
    assert r.channel == b"" and "fd=none" in r.output


def test_read_only_paths_in_the_workspace(ex):
    r = ex.run(["sh", "-c", "echo changed > notes.txt"], read_only=["notes.txt"])
    assert r.returncode != 0 and ex.read("notes.txt") == "n"
    assert ex.run(["sh", "-c", "echo changed > notes.txt"]).returncode == 0  # only for that run


def test_a_fork_is_a_copy_its_commands_cannot_change(ex):
    twin = ex.fork()
    try:
        assert twin.root != ex.root and twin.list() == ex.list() and twin.read("pkg/mod.py") == "X = 1\n"
        # Neither its own files (the hidden tests, the channel plugin) nor the agent's workspace.
        script = "echo 'X = 9' > pkg/mod.py; echo 'X = 9' > /workspace/pkg/mod.py; rm -f notes.txt; echo x > new.txt"
        r = twin.run(["sh", "-c", script], read_only=["pkg/mod.py"])
        assert r.output.count("Permission denied") >= 3
        assert twin.read("pkg/mod.py") == "X = 1\n" and twin.exists("notes.txt") and not twin.exists("new.txt")
        assert ex.read("pkg/mod.py") == "X = 1\n"
        # The executor itself writes there (a test module), and the command reads it.
        twin.write("check.py", "import pkg.mod; print(pkg.mod.X)")
        assert twin.run([twin.python, "check.py"]).output.strip() == "1" and not ex.exists("check.py")
        # What the agent changes later does not reach the fork.
        ex.write("pkg/mod.py", "X = 5\n")
        assert twin.read("pkg/mod.py") == "X = 1\n"
    finally:
        twin.close()
    assert ex.run(["test", "-e", twin.root]).returncode != 0


def test_a_hidden_test_suite_runs_in_a_fork_with_a_verdict(ex):
    from densegym.sandbox.verdict import prepare_suite, run_suite

    ex.write("calc.py", "def add(a, b):\n    return a + b\n")
    suite = prepare_suite("from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n\n"
                          "def test_more():\n    assert add(2, 2) == 5\n")  # fmt: skip
    twin = ex.fork()
    try:
        verdict = run_suite(twin, suite, Limits(timeout_s=30))
    finally:
        twin.close()
    assert not verdict.tampered, verdict.reasons
    assert verdict.passed == ("test_add",) and verdict.failed == ("test_more",)


def test_restore_makes_the_workspace_exactly_the_files(ex):
    ex.run(["sh", "-c", "mkdir -p junk/deep && echo x > junk/deep/f.txt && echo y > .hidden && ln -s /etc link"])
    ex.restore({"only.py": "Z = 1\n"})
    r = ex.run(["sh", "-c", "find . -mindepth 1 | sort"])
    assert r.output.split() == ["./only.py"]


# ---- safety -------------------------------------------------------------------------------------------------


def test_rm_rf_root_changes_nothing_on_the_host_and_the_executor_recovers(ex, tmp_path):
    canaries = [tmp_path / "canary.txt", Path("/var/tmp") / f"densegym-canary-{os.getpid()}.txt"]
    for c in canaries:
        c.write_text("alive")
    try:
        r = ex.run(["sh", "-c", "rm -rf / --no-preserve-root 2>/dev/null"], limits=Limits(timeout_s=20))
        assert not r.timed_out and not r.output_truncated
        assert all(c.read_text() == "alive" for c in canaries)
        assert ex.run(["ls", "pkg"]).returncode != 0  # its own workspace is gone, as asked
        ex.restore(REPO)
        r = ex.run([ex.python, "-c", "import pkg.mod; print(pkg.mod.X)"])
        assert r.returncode == 0 and r.output.strip() == "1"
    finally:
        for c in canaries:
            c.unlink(missing_ok=True)


def test_a_fork_bomb_is_contained_and_the_container_recovers(ex):
    bomb = "import os  # densegym-bomb\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    r = ex.run([ex.python, "-c", bomb], limits=Limits(timeout_s=2))
    assert r.timed_out
    r = ex.run(["echo", "fine"])
    assert r.returncode == 0 and r.output.strip() == "fine"
    assert _processes_matching(ex, "densegym-bomb") == []


def test_a_memory_hog_is_killed_and_the_container_recovers(ex):
    hog = "chunks = []\nwhile True:\n    chunks.append(bytearray(32 << 20))\n"
    r = ex.run([ex.python, "-c", hog], limits=Limits(timeout_s=20, max_memory_bytes=64 << 30))
    assert not r.timed_out and r.returncode not in (0, None)  # the OOM killer (137), over the 256 MiB limit
    assert ex.run(["echo", "fine"]).output.strip() == "fine"


def test_close_removes_the_container_and_the_pool_its_idle_ones():
    pool = ContainerPool(size=1, settings=SMALL)
    try:
        ex = pool.acquire()
        assert ex.run(["echo", "hi"]).output.strip() == "hi"
        ex.close()
        ex.close()  # idempotent
        deadline = time.monotonic() + 30
        while pool.idle < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pool.idle == 1
    finally:
        pool.close()
    assert _containers(f"densegym.pool={pool.id}") == []


def test_a_pool_that_preloads_the_repository_makes_the_reset_s_restore_free():
    pool = ContainerPool(size=1, settings=SMALL, files=REPO)
    try:
        ex = pool.acquire()
        execs = []
        real = ex._box.exec
        ex._box.exec = lambda *a, **k: (execs.append(a), real(*a, **k))[1]
        ex.restore(dict(REPO))
        assert execs == []  # the workspace holds exactly these files, untouched: nothing to do
        assert ex.snapshot() == REPO
        # Once a command may have changed anything, a restore does the real work again.
        ex.run(["sh", "-c", "echo 'X = 2' > pkg/mod.py"])
        ex.restore(REPO)
        assert ex.read("pkg/mod.py") == "X = 1\n"
        ex.write("pkg/mod.py", "X = 3\n")
        ex.restore(REPO)
        assert ex.read("pkg/mod.py") == "X = 1\n"
        ex.close()
    finally:
        pool.close()


def test_a_killed_worker_s_container_is_swept_from_its_ledger(tmp_path):
    ledger = tmp_path / "worker.jsonl"
    repo = str(Path(__file__).resolve().parents[2])
    script = (
        "import sys, time\n"
        "from densegym import leftovers\n"
        f"leftovers.set_ledger({str(ledger)!r})\n"
        "from densegym.sandbox.docker import DockerExecutor\n"
        "ex = DockerExecutor()\n"
        "print(ex.container_id, flush=True)\n"
        "time.sleep(600)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=repo,
                              env={**os.environ, "PYTHONPATH": repo})  # fmt: skip
    try:
        cid = worker.stdout.readline().strip()
        assert cid, "the worker did not start its container"
        assert _docker().containers.get(cid).status == "running"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert ("container", cid) in leftovers.outstanding(ledger)
    assert ("container", cid) in leftovers.sweep(ledger)
    assert _containers(f"densegym.owner={worker.pid}") == []
    assert leftovers.sweep(ledger) == []  # a second sweep (the ledger is gone) finds nothing


def test_an_orphaned_container_of_a_dead_owner_is_swept(monkeypatch):
    """``densegym cleanup``: a container whose owner process is gone (no ledger left) is removed by its labels."""
    import docker
    from densegym.sandbox.docker import DEFAULT_IMAGE

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True,
                          text=True)  # fmt: skip
    labels = {**leftovers.container_owner_labels(), "densegym.owner": dead.stdout.strip()}
    c = docker.from_env().containers.create(DEFAULT_IMAGE, ["true"], labels=labels, network_mode="none")
    mine = docker.from_env().containers.create(DEFAULT_IMAGE, ["true"], labels=leftovers.container_owner_labels(),
                                               network_mode="none")  # fmt: skip
    try:
        removed = leftovers.sweep_orphans()
        assert ("container", c.id) in removed and ("container", mine.id) not in removed
        assert _containers(f"densegym.owner={dead.stdout.strip()}") == []
    finally:
        mine.remove(force=True)


# ---- images -------------------------------------------------------------------------------------------------


def test_a_project_image_holds_the_repository_read_only_and_is_reused():
    from densegym.sandbox.docker import ensure_project_image

    files = {"src/app.py": "print('app')\n", "README.md": "hello"}
    tag = ensure_project_image("Demo Repo", files)
    assert tag.startswith("densegym/swe-demo-repo:")
    created = _docker().images.get(tag).id
    assert ensure_project_image("Demo Repo", files) == tag and _docker().images.get(tag).id == created
    ex = DockerExecutor(tag, settings=SMALL)
    try:
        r = ex.run(["sh", "-c", "cat /repo/src/app.py; echo x > /repo/README.md; touch /repo/new; stat -c '%U %a' /repo/src/app.py"])
        assert "print('app')" in r.output and r.output.count("Permission denied") + r.output.count("Read-only") >= 2
        assert "root 444" in r.output
    finally:
        ex.close()
    assert ensure_project_image("Demo Repo", {**files, "README.md": "changed"}) != tag


def test_missing_images_say_how_to_build_them():
    from densegym.sandbox.docker import DockerUnavailable, ensure_project_image

    with pytest.raises(DockerUnavailable, match="docker/build.sh"):
        ensure_project_image("x", {"a.py": ""}, base="densegym/no-such-base:0")
    with pytest.raises(DockerUnavailable, match="docker/build.sh"):
        DockerExecutor("densegym/no-such-image:0")


def test_no_daemon_or_no_package_say_how_to_fix_it(monkeypatch):
    from densegym.sandbox import docker as docker_executor
    from densegym.sandbox.docker import DockerUnavailable

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DockerUnavailable, match="dockerd --iptables=false --ip-forward=false --bridge=none"):
        docker_executor._make_client()
    assert not docker_available()
    monkeypatch.setitem(sys.modules, "docker", None)  # the package not installed
    with pytest.raises(DockerUnavailable, match=r"pip install densegym\[swe\]"):
        docker_executor._make_client()


def test_importing_the_sandbox_does_not_import_docker():
    code = "import sys, densegym.sandbox; densegym.sandbox.DockerExecutor; print('docker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=str(Path(__file__).resolve().parents[2]))
    assert out.stdout.split() == ["False"], out.stderr  # not before a container is started


def test_ledger_lines_are_json():
    assert json.loads(json.dumps(leftovers.container_owner_labels()))["densegym.owner"] == str(os.getpid())
