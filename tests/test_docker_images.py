"""The Docker images densegym's episodes run in (docker/build.sh, docker/README.md) and the scripts that set
them up (.ci/docker-daemon, .ci/system-packages)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import require

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "docker" / "build.sh"
BASE = os.environ.get("DENSEGYM_BASE_IMAGE", "densegym/base:bookworm")  # the names build.sh builds
SANDBOX = os.environ.get("DENSEGYM_SANDBOX_IMAGE", "densegym/sandbox:1")
FIX = "bash .ci/docker-daemon start && bash docker/build.sh (as root; Debian: apt-get install docker.io debootstrap)"


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return _run("docker", "info", timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="module")
def sandbox_image() -> str:
    require(_docker_answers(), "Docker (a daemon this user may use)", FIX)
    for image in (BASE, SANDBOX):
        require(_run("docker", "image", "inspect", image).returncode == 0, f"the Docker image {image}", FIX)
    return SANDBOX


def _in_sandbox(image: str, script: str, *options: str) -> subprocess.CompletedProcess:
    return _run("docker", "run", "--rm", "--network", "none", *options, image, "bash", "-c", script)


def test_sandbox_runs_pytest_as_agent_without_network_on_a_read_only_root(sandbox_image):
    out = _in_sandbox(
        sandbox_image,
        "python3 -c 'import os, pytest; print(os.getuid(), os.getgid(), os.getcwd(), os.environ[\"HOME\"])'"
        " && ! touch /etc/x 2>/dev/null"
        " && ! python3 -c 'import socket; socket.create_connection((\"1.1.1.1\", 53), timeout=2)' 2>/dev/null"
        " && echo ok",
        "--read-only", "--user", "1000:1000",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.split() == ["1000", "1000", "/workspace", "/home/agent", "ok"], out.stdout


def test_sandbox_workspace_is_the_agents_and_repo_is_read_only(sandbox_image):
    agent = _in_sandbox(
        sandbox_image,
        "stat -c '%n %u:%g %a' /workspace /repo /home/agent"
        " && touch /workspace/mine && ! touch /repo/mine 2>/dev/null && echo ok",
        "--user", "1000:1000",
    )
    assert agent.returncode == 0, agent.stdout + agent.stderr
    lines = agent.stdout.split("\n")
    stats = dict(line.split(" ", 1) for line in lines[:3])
    assert stats["/workspace"] == "1000:1000 755", stats
    assert stats["/repo"] == "0:0 755", stats
    assert stats["/home/agent"].startswith("1000:1000 "), stats
    assert lines[3] == "ok", agent.stdout
    other = _in_sandbox(sandbox_image, "! touch /workspace/theirs 2>/dev/null && echo ok", "--user", "1001:1001")
    assert (other.returncode, other.stdout.strip()) == (0, "ok"), other.stdout + other.stderr
    env = _run("docker", "image", "inspect", "--format", "{{json .Config.Env}} {{.Config.WorkingDir}}", sandbox_image)
    assert "PYTHONDONTWRITEBYTECODE=1" in env.stdout and "LANG=C.UTF-8" in env.stdout, env.stdout
    assert env.stdout.split()[-1] == "/workspace"


def test_build_script_skips_the_images_that_exist(sandbox_image):
    start = time.perf_counter()
    out = _run("bash", str(BUILD), timeout=120)
    elapsed = time.perf_counter() - start
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"skip: {BASE} exists" in out.stdout, out.stdout
    assert f"skip: {SANDBOX} exists" in out.stdout, out.stdout
    assert "docker build" not in out.stdout and "debootstrap" not in out.stdout, out.stdout
    assert elapsed < 20, f"a no-op build.sh took {elapsed:.1f}s"


def test_build_script_help():
    out = _run("bash", str(BUILD), "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: bash docker/build.sh")
    for option in ("--rebuild", "--from-registry", "--library", "--clean"):
        assert option in out.stdout
    bad = _run("bash", str(BUILD), "--no-such-option")
    assert bad.returncode == 2 and "usage:" in bad.stderr


def test_scripts_are_valid_bash():
    for script in (".ci/docker-daemon", ".ci/system-packages", ".ci/run", "docker/build.sh"):
        out = _run("bash", "-n", script)
        assert out.returncode == 0, f"{script}: {out.stderr}"
    usage = _run("bash", ".ci/docker-daemon")
    assert usage.returncode == 2 and "start|stop" in usage.stderr
