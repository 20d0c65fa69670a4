"""The local executor: time, output and process limits, and bubblewrap's isolation (real commands)."""

from __future__ import annotations

import os
import sys
import time

import pytest

from densegym.sandbox import Limits, LocalExecutor, bubblewrap_path
from tests.helpers import require


@pytest.fixture(scope="module")
def bwrap():
    require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")
    return LocalExecutor(use_bubblewrap=True, limits=Limits(timeout_s=5, max_output_bytes=10_000))


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.mark.parametrize("isolated", [True, False])
def test_runs_and_captures_output(tmp_path, isolated):
    if isolated:
        require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")
    ex = LocalExecutor(use_bubblewrap=isolated, unsafe_local=not isolated)
    r = ex.run(py("import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"), tmp_path)
    assert r.returncode == 3 and "out" in r.output and "err" in r.output
    assert r.isolated is isolated and not r.ok


def test_infinite_loop_is_stopped(bwrap, tmp_path):
    r = bwrap.run(py("while True: pass"), tmp_path, limits=Limits(timeout_s=1))
    assert r.timed_out and r.returncode is None


def test_output_flood_is_cut(bwrap, tmp_path):
    r = bwrap.run(py("while True: print('x' * 1000)"), tmp_path)
    assert r.output_truncated
    assert len(r.output.encode()) <= 10_000


def test_daemonised_children_die_with_the_sandbox(bwrap, tmp_path):
    marker = tmp_path / "alive"
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(2)\n"
        f"    open({str(marker)!r}, 'w').write('still running')\n"
        "    os._exit(0)\n"
        "time.sleep(30)\n"
    )
    r = bwrap.run(py(code), tmp_path, limits=Limits(timeout_s=1))
    assert r.timed_out
    time.sleep(2.5)
    assert not marker.exists()


def test_fork_bomb_is_contained(bwrap, tmp_path):
    if bwrap.process_cap == "none":
        pytest.skip("root without writable cgroups: nothing caps the processes, so a fork bomb would only thrash")
    r = bwrap.run(py("import os\nwhile True:\n    try: os.fork()\n    except OSError: pass"), tmp_path,
                  limits=Limits(timeout_s=2, extra_processes=64))  # fmt: skip
    assert r.timed_out
    # The machine still runs commands afterwards.
    assert bwrap.run(py("print('fine')"), tmp_path).output.strip() == "fine"


def test_file_system_outside_cwd_is_read_only(bwrap, tmp_path):
    outside = tmp_path.parent / f"densegym-outside-{os.getpid()}.txt"
    work = tmp_path / "work"
    work.mkdir()
    # /tmp is a private tmpfs inside the sandbox: the write succeeds there and never reaches the host.
    bwrap.run(py(f"open({str(outside)!r}, 'w').write('x')"), work)
    assert not outside.exists()
    host = os.path.join(sys.prefix, f"densegym-outside-{os.getpid()}.txt")
    r = bwrap.run(py(f"open({host!r}, 'w').write('x')"), work)
    assert r.returncode != 0 and "Read-only file system" in r.output and not os.path.exists(host)
    r = bwrap.run(py("open('inside.txt', 'w').write('ok')"), work)
    assert r.returncode == 0 and (work / "inside.txt").read_text() == "ok"


def test_no_network(bwrap, tmp_path):
    code = "import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('1.1.1.1', 80))"
    r = bwrap.run(py(code), tmp_path)
    assert r.returncode != 0 and ("Network is unreachable" in r.output or "OSError" in r.output)


def test_memory_limit(bwrap, tmp_path):
    r = bwrap.run(py("x = bytearray(3 << 30)"), tmp_path, limits=Limits(max_memory_bytes=1 << 30))
    assert r.returncode != 0 and "MemoryError" in r.output


def test_process_cap_is_reported():
    assert LocalExecutor(use_bubblewrap=False, unsafe_local=True).process_cap in ("cgroup", "rlimit", "none")


def test_an_interpreter_installed_under_tmp_still_runs_in_the_sandbox(tmp_path):
    """A virtualenv inside /tmp (a CI clone there) is hidden by the sandbox's private /tmp unless it is bound
    back: run the executor from such a venv and have it start that venv's own python inside bubblewrap."""
    import subprocess
    from pathlib import Path

    require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    assert str(venv).startswith("/tmp/")
    work = tmp_path / "work"
    work.mkdir()
    script = (
        "import sys; from densegym.sandbox import LocalExecutor; "
        f"r = LocalExecutor(use_bubblewrap=True).run([sys.executable, '-c', 'import sys; print(sys.prefix)'], "
        f"{str(work)!r}); print(r.returncode, r.isolated, r.output.strip())"
    )
    import site

    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo, *site.getsitepackages()])}
    out = subprocess.run([str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True", str(venv)]
