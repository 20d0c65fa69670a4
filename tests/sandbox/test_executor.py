"""The local executor: time, output and process limits, and bubblewrap's isolation (real commands)."""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import pytest

from densegym.sandbox import IsolationUnavailable, Limits, LocalExecutor, UnsafeLocalWarning, bubblewrap_path
from densegym.sandbox.processes import process_alive
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


# ---- isolation is not optional ------------------------------------------------------------------------------


def test_unisolated_runs_need_an_explicit_opt_in(monkeypatch):
    with pytest.raises(ValueError, match="unsafe_local=True"):
        LocalExecutor(use_bubblewrap=False)
    # A machine without a working bubblewrap (simulated: the error path only) refuses by default and says
    # how to install it; unsafe_local=True runs anyway, with a warning.
    import densegym.sandbox.executor as executor_module

    monkeypatch.setattr(executor_module, "bubblewrap_path", lambda: None)
    with pytest.raises(IsolationUnavailable, match="apt-get install bubblewrap"):
        LocalExecutor()
    with pytest.raises(IsolationUnavailable):
        LocalExecutor(use_bubblewrap=True, unsafe_local=True)
    with pytest.warns(UnsafeLocalWarning, match="WITHOUT isolation"):
        ex = LocalExecutor(unsafe_local=True)
    assert not ex.isolated


@pytest.mark.parametrize("isolated", [True, False])
def test_the_child_never_sees_the_parents_environment(tmp_path, monkeypatch, isolated):
    if isolated:
        require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")
    monkeypatch.setenv("DENSEGYM_TEST_API_KEY", "sk-not-for-the-agent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeLocalWarning)
        ex = LocalExecutor(use_bubblewrap=isolated, unsafe_local=not isolated)
    r = ex.run(py("import os; print(sorted(os.environ))"), tmp_path, env={"MINE": "1"})
    assert r.returncode == 0 and "MINE" in r.output
    assert "DENSEGYM_TEST_API_KEY" not in r.output


def test_sandboxed_code_reaches_no_secret_file_network_or_parent(bwrap, tmp_path):
    """What the review's agent code did without bubblewrap, tried inside it: read the home directory and the
    parent's environment through /proc, write to the home directory, reach a loopback listener."""
    import socket

    secret_value = f"secret-{os.getpid()}"
    os.environ["DENSEGYM_TEST_SECRET"] = secret_value
    home_secret = Path.home() / f".densegym-test-secret-{os.getpid()}"
    home_secret.write_text(secret_value)
    planted = Path.home() / f".densegym-test-planted-{os.getpid()}"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    code = f"""
import os, socket
found = []
try:
    found.append(open({str(home_secret)!r}).read())
except OSError as e:
    print("home read refused:", type(e).__name__)
for pid in [p for p in os.listdir('/proc') if p.isdigit()] + [str(os.getppid())]:
    try:
        found.append(open(f'/proc/{{pid}}/environ', 'rb').read().decode(errors='replace'))
    except OSError:
        pass
try:
    open({str(planted)!r}, 'w').write('x')
except OSError as e:
    print("home write refused:", type(e).__name__)
s = socket.socket(); s.settimeout(2)
try:
    s.connect(('127.0.0.1', {port}))
    print("CONNECTED")
except OSError as e:
    print("connect refused:", type(e).__name__)
print("LEAK" if any({secret_value!r} in f for f in found) else "no leak")
"""
    try:
        r = bwrap.run(py(code), tmp_path)
    finally:
        listener.close()
        home_secret.unlink()
        del os.environ["DENSEGYM_TEST_SECRET"]
    assert r.returncode == 0, r.output
    assert "no leak" in r.output and "CONNECTED" not in r.output
    assert not planted.exists()  # the sandbox's home is an empty tmpfs: a write there never reaches the host


def test_a_daemon_holding_the_output_pipe_neither_stalls_the_run_nor_survives_it(tmp_path):
    """Double fork + setsid, no bubblewrap: the grandchild keeps stdout open and sleeps for ten minutes. The run
    must return soon after the command ends, and the daemon must be gone."""
    pid_file = tmp_path / "daemon.pid"
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)\n"
        "print('parent done')\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeLocalWarning)
        ex = LocalExecutor(use_bubblewrap=False, unsafe_local=True)
    r = ex.run(py(code), tmp_path, limits=Limits(timeout_s=10))
    assert "parent done" in r.output and not r.timed_out
    assert r.seconds < 60  # not the daemon's 600 s: the run never waits on a pipe a daemon holds
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(pid)


def test_side_channel_and_read_only_paths(bwrap, tmp_path):
    frozen = tmp_path / "frozen.txt"
    frozen.write_text("as written")
    code = (
        "import os\n"
        "os.write(int(os.environ['DENSEGYM_CHANNEL_FD']), b'via the channel')\n"
        "try:\n    open('frozen.txt', 'w').write('changed')\nexcept OSError as e:\n    print('refused', type(e).__name__)\n"
    )
    r = bwrap.run(py(code), tmp_path, channel=True, read_only=[frozen])
    assert r.channel == b"via the channel" and "refused" in r.output and frozen.read_text() == "as written"


# ---- the Executor protocol ------------------------------------------------------------------------------


def test_local_executor_implements_the_protocol_with_jailed_paths(bwrap):
    from densegym.sandbox import PathEscape
    from densegym.sandbox.protocol import Executor

    ex = bwrap.fork()
    try:
        assert isinstance(ex, Executor) and ex.isolated
        ex.write("pkg/mod.py", "X = 1\n")
        ex.write("notes.txt", "n")
        assert ex.list(".py") == ["pkg/mod.py"] and ex.exists("notes.txt") and ex.read("pkg/mod.py") == "X = 1\n"
        for bad in ("../escape.txt", "/etc/passwd", ".hidden", "pkg/../../x"):
            with pytest.raises(PathEscape):
                ex.write(bad, "x")
        saved = ex.snapshot()
        ex.delete("notes.txt")
        ex.write("pkg/mod.py", "X = 2\n")
        assert not ex.exists("notes.txt")
        ex.restore(saved)
        assert ex.snapshot() == saved
        # Commands run in the workspace (a relative cwd), with the executor's interpreter.
        r = ex.run([ex.python, "-c", "import pkg.mod, os; print(pkg.mod.X, os.getcwd())"], ".")
        assert r.returncode == 0 and r.output.split() == ["1", ex.root]
        r = ex.run([ex.python, "-c", "open('notes.txt', 'w').write('changed')"], ".", read_only=["notes.txt"])
        assert r.returncode != 0 and ex.read("notes.txt") == "n"
        # A fork is a copy: what runs there never touches the original.
        twin = ex.fork()
        try:
            twin.run([twin.python, "-c", "open('pkg/mod.py', 'w').write('X = 99')"], ".")
            assert twin.read("pkg/mod.py") == "X = 99" and ex.read("pkg/mod.py") == "X = 1\n"
        finally:
            twin.close()
        assert not os.path.exists(twin.root)
    finally:
        ex.close()
    assert not os.path.exists(ex.root)
