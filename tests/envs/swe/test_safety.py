"""Hostile commands through SWEEnv's bash action, on both executors: contained, the host unchanged (canary files
outside the sandbox keep their contents), and the env usable afterwards (the same episode runs a command, a new
one starts)."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from pathlib import Path

import pytest

from .conftest import sample_ids


@pytest.fixture
def canaries(tmp_path):
    """Files on the host that no command may change: one in this test's temp dir, one beside the system's
    (``/var/tmp``, which a sandbox shows read-only at most)."""
    paths = [tmp_path / "canary.txt", Path("/var/tmp") / f"densegym-canary-{secrets.token_hex(4)}.txt"]
    for p in paths:
        p.write_text(f"canary {p.name}\n")
    yield paths
    for p in paths:
        assert p.read_text() == f"canary {p.name}\n", f"a command changed the host file {p}"
    paths[1].unlink()


def _attack(make_env, command: str, **kw):
    env = make_env(command_timeout_s=kw.pop("timeout", 10), **kw)
    task_id = sample_ids(1, seed=20)[0]
    env.reset(options={"task": task_id})
    obs, *_, info = env.step(f"<action>bash\n{command}</action>")
    assert info["action_valid"] and "[" in obs  # it ran, and the observation gives its end (exit code or limit)
    return env, task_id, obs


def _still_usable(env, task_id):
    obs, *_ = env.step("<action>bash\necho alive</action>")
    assert "alive" in obs
    obs, _ = env.reset(options={"task": task_id})
    obs, *_ = env.step("<action>bash\nls</action>")
    assert "README.md" in obs


def test_rm_rf_root_leaves_the_host_unchanged(make_env, canaries):
    targets = " ".join(str(p) for p in canaries)
    env, task_id, _ = _attack(make_env, f"rm -rf --no-preserve-root / 2>/dev/null; echo owned > {canaries[1]}; rm -f {targets}; true", timeout=30)
    _still_usable(env, task_id)


def test_a_fork_bomb_is_contained(make_env, canaries):
    env, task_id, _ = _attack(make_env, "bomb() { bomb | bomb & }; bomb", timeout=5)
    _still_usable(env, task_id)


def test_a_memory_hog_is_killed(make_env, canaries):
    env, task_id, obs = _attack(make_env, "python3 -c 'x = bytearray(8 << 30); print(len(x))'", timeout=20)
    assert str(8 << 30) not in obs
    _still_usable(env, task_id)


def test_the_network_is_unreachable_even_the_hosts_loopback(make_env, canaries):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    seen = []

    def accept():
        try:
            while True:
                try:
                    conn, _ = listener.accept()
                    seen.append(conn.recv(100))
                    conn.close()
                except TimeoutError:
                    if stop.is_set():
                        return
        except OSError:
            return

    stop = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        probe = (f"python3 -c \"import socket\nfor host in ('127.0.0.1', 'localhost', '{socket.gethostname()}'):\n"
                 f"    try:\n        s = socket.create_connection((host, {port}), timeout=2); s.sendall(b'escaped'); "
                 "print('connected', host)\n    except OSError as e:\n        print('refused', host, e)\"")  # fmt: skip
        env, task_id, obs = _attack(make_env, probe, timeout=20)
        assert "connected" not in obs and "refused" in obs
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert seen == []
    _still_usable(env, task_id)


def test_gigabytes_of_output_are_cut(make_env, canaries):
    env, task_id, obs = _attack(make_env, "yes densegym | head -c 3000000000", timeout=30)
    assert len(obs) < 20_000 and ("output over the limit" in obs or "timed out" in obs)
    _still_usable(env, task_id)


def test_a_daemon_does_not_outlive_its_command(make_env, canaries, tmp_path):
    env, task_id, obs = _attack(make_env, "(setsid nohup sleep 600 >/dev/null 2>&1 &); echo started", timeout=10)
    assert "started" in obs
    obs, *_ = env.step("<action>bash\nps -eo comm | grep -c '^sleep$' || true</action>")
    assert obs.splitlines()[0].strip() == "0", obs
    _still_usable(env, task_id)


def test_the_host_environment_and_home_are_out_of_reach(make_env, canaries, monkeypatch):
    monkeypatch.setenv("DENSEGYM_TEST_SECRET", "s3cr3t-value")
    env = make_env()
    env.reset(options={"task": sample_ids(1, seed=21)[0]})
    home = os.path.expanduser("~")
    obs, *_ = env.step(f"<action>bash\nenv; cat /proc/1/environ 2>&1; ls -a {home} 2>&1; cat {canaries[0]} 2>&1</action>")
    assert "s3cr3t-value" not in obs
    assert f"canary {canaries[0].name}" not in obs  # the file's content: the path may appear in an error
