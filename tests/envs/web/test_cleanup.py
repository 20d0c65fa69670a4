"""After close(), and after the process is SIGKILLed (its ledger swept, as EnvPool does), no browser, driver
or app server process remains. Each case runs the env in a child process of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from densegym import leftovers

CHILD = textwrap.dedent("""
    import json, os, sys, time
    from densegym import leftovers
    leftovers.set_ledger(sys.argv[1])
    from densegym.envs.web import WebShopEnv, close_shared
    from densegym.envs.web.env import browser_host
    env = WebShopEnv()
    env.reset(seed=0)
    env.step(env.oracle_action())
    host = browser_host()
    kids = []
    for pid in os.listdir("/proc"):
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            if pid.isdigit() and int(stat[1]) == os.getpid():
                kids.append(int(pid))
        except (OSError, IndexError):
            pass
    print(json.dumps({"tag": host.tag, "server": env.server.proc.pid, "kids": kids}), flush=True)
    if sys.argv[2] == "close":
        env.close()
        close_shared()
        print("closed", flush=True)
    time.sleep(120)
""")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def tagged(tag: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if tag.encode() in fh.read() and alive(int(pid)):
                    found.append(int(pid))
        except OSError:
            pass
    return found


def wait_gone(pids, timeout_s=10.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


@pytest.mark.parametrize("how", ["close", "sigkill"])
def test_no_process_remains(need_browser, tmp_path, how):
    ledger = tmp_path / "ledger.jsonl"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ledger), how], stdout=subprocess.PIPE, text=True,
                             cwd=os.getcwd())
    try:
        facts = json.loads(child.stdout.readline())
        browser = tagged(facts["tag"])
        assert browser and alive(facts["server"])  # they ran: a browser, a driver and a server
        started = browser + [facts["server"]] + facts["kids"]
        if how == "close":
            assert child.stdout.readline().strip() == "closed"
            assert alive(child.pid)
        else:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            swept = leftovers.sweep(ledger)
            assert ("process_group", facts["server"]) in swept and len(swept) >= 2  # the server and the browser
        assert wait_gone(started) == [] and tagged(facts["tag"]) == []
    finally:
        child.kill()
        child.wait(10)


def descendants(root: int) -> dict[int, bytes]:
    """Live processes under ``root`` (by parent links), with their command lines."""
    parents, cmdlines = {}, {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdlines[int(entry)] = fh.read()
        except (OSError, ValueError, IndexError):
            continue
    out = {}
    for pid in parents:
        ancestor, hops = parents.get(pid, 0), 0
        while ancestor > 1 and ancestor != root and hops < 64:
            ancestor, hops = parents.get(ancestor, 0), hops + 1
        if ancestor == root and alive(pid):
            out[pid] = cmdlines.get(pid, b"")
    return out


def test_a_killed_pool_worker_and_a_closed_pool_leave_nothing(need_browser):
    """Real EnvPool workers: SIGKILL one (its browser, driver and server go), then close the pool (the same)."""
    from densegym.envpool import EnvFailure, EnvPool
    from densegym.envs.web import WebShopEnv

    pool = EnvPool(WebShopEnv, num_envs=1, num_workers=1, step_timeout=60)
    restarted: dict[int, bytes] = {}
    try:
        assert not isinstance(pool.reset({0: (0, None, 0)})[0], EnvFailure)
        worker = pool.worker_pids[0]
        started = descendants(worker)
        assert any(b"--densegym-web=" in c for c in started.values())  # the browser
        assert any(b"densegym.envs.web.server" in c for c in started.values())  # the app server
        os.kill(worker, signal.SIGKILL)
        result = pool.step({0: "<action>noop()</action>"})[0]
        assert isinstance(result, EnvFailure)
        assert wait_gone(list(started)) == []
        assert not isinstance(pool.reset({0: (1, None, 0)})[0], EnvFailure)  # a new worker, a new browser
        restarted = descendants(pool.worker_pids[0])
        assert any(b"--densegym-web=" in c for c in restarted.values())
    finally:
        pool.close()
    assert wait_gone(list(restarted)) == []
