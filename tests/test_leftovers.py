"""Crash cleanup: what a killed process owned outside itself is removed from its ledger (real processes,
real directories, SIGKILL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from densegym import leftovers
from densegym.sandbox.processes import process_alive

# A run that owns a temp dir and a process in its own session, writes them to a pool ledger, and dies
# without cleaning up (SIGKILL: no finalizer, no atexit).
CRASHING_RUN = """
import json, os, signal, subprocess, sys, tempfile
from densegym import leftovers
pool = leftovers.pool_dir()
leftovers.set_ledger(os.path.join(pool, "worker-1.jsonl"))
work = tempfile.mkdtemp(prefix="densegym-test-crash-")
leftovers.own("dir", work)
server = subprocess.Popen(["sleep", "300"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
leftovers.own("process_group", server.pid)
done = tempfile.mkdtemp(prefix="densegym-test-released-")
token = leftovers.own("dir", done)
os.rmdir(done)
leftovers.release(token)
print(json.dumps({"pool": pool, "work": work, "server": server.pid}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _crashed_run() -> dict:
    proc = subprocess.run([sys.executable, "-c", CRASHING_RUN], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    return json.loads(proc.stdout)


def test_densegym_cleanup_removes_a_crashed_runs_leftovers():
    run = _crashed_run()
    assert Path(run["work"]).is_dir() and process_alive(run["server"]) and Path(run["pool"]).is_dir()
    assert sorted(k for k, _ in leftovers.outstanding(Path(run["pool"]) / "worker-1.jsonl")) == ["dir", "process_group"]
    out = subprocess.run([sys.executable, "-m", "densegym", "cleanup"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"removed dir {run['work']}" in out.stdout and f"removed process_group {run['server']}" in out.stdout
    deadline = time.monotonic() + 5
    while process_alive(run["server"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(run["server"])
    assert not Path(run["work"]).exists() and not Path(run["pool"]).exists()


def test_a_live_pools_ledgers_are_left_alone(tmp_path):
    live = leftovers.pool_dir()
    try:
        ledger = Path(live) / "worker-1.jsonl"
        keep = tmp_path / "keep"
        keep.mkdir()
        ledger.write_text(json.dumps({"op": "own", "id": 1, "pid": os.getpid(), "kind": "dir", "ref": str(keep)}) + "\n")
        assert all(ref != str(keep) for _, ref in leftovers.sweep_orphans())
        assert keep.is_dir() and ledger.exists()
    finally:
        import shutil

        shutil.rmtree(live, ignore_errors=True)


def test_a_ledger_line_cut_by_the_kill_is_skipped(tmp_path):
    ledger = tmp_path / "worker.jsonl"
    target = tmp_path / "owned"
    target.mkdir()
    ledger.write_text(json.dumps({"op": "own", "id": 1, "pid": 7, "kind": "dir", "ref": str(target)}) + '\n{"op": "own", "id"')
    assert leftovers.sweep(ledger) == [("dir", str(target))]
    assert not target.exists() and not ledger.exists()


def test_the_next_pool_removes_a_crashed_runs_leftovers():
    from densegym.envpool import EnvPool

    run = _crashed_run()
    assert Path(run["work"]).is_dir()
    with EnvPool("densegym/Sokoban-small-v0", num_envs=1, num_workers=1):
        pass
    deadline = time.monotonic() + 5
    while process_alive(run["server"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(run["work"]).exists() and not process_alive(run["server"]) and not Path(run["pool"]).exists()
