"""A worker killed mid-step leaves nothing behind: no language server, no test-run process, no temp dir, no
cgroup (real EnvPool workers, a real server, a real sandboxed test run, SIGKILL)."""

from __future__ import annotations

import glob
import os
import signal
import threading
import time

from densegym.envs.lsp.servers import server_available
from densegym.envpool import EnvFailure, EnvPool
from densegym.sandbox import bubblewrap_path
from densegym.sandbox.processes import process_alive
from tests.helpers import require

# A test run that takes long enough to be caught in the middle.
SLOW = "import time\ntime.sleep(30)\n"


def _ours() -> dict[str, set]:
    procs = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    cmd = fh.read()
            except OSError:
                continue
            if b"langserver" in cmd or b"test_hidden.py" in cmd:
                procs.add(int(entry))
    return {
        "processes": procs,
        "dirs": set(glob.glob("/tmp/densegym-*")),
        "cgroups": set(glob.glob("/sys/fs/cgroup/pids/densegym-*") + glob.glob("/sys/fs/cgroup/densegym-*")),
    }



def test_a_killed_lsp_worker_leaves_nothing_behind():
    require(server_available("basedpyright"), "the basedpyright language server", "pip install 'densegym[lsp]'")
    require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")
    before = _ours()
    pool = EnvPool("densegym/LSPCode-easy-v0", num_envs=1, num_workers=1, env_kwargs={"test_timeout_s": 60},
                   step_timeout=120)  # fmt: skip
    try:
        pool.reset({0: (0, {"task": "lsp:ledger:d1:6"}, 0)})
        pool.step({0: f"<action>edit ledger/__init__.py\n{SLOW}</action>"})
        worker = pool.worker_pids[0]
        results: dict = {}
        stepping = threading.Thread(target=lambda: results.update(pool.step({0: "<action>run_tests</action>"})))
        stepping.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = _ours()
            if any("densegym-tests-" in d for d in now["dirs"] - before["dirs"]) and now["processes"] - before["processes"]:
                break
            time.sleep(0.05)
        during = _ours()
        started = during["processes"] - before["processes"]
        assert any("densegym-lsp-" in d for d in during["dirs"] - before["dirs"])
        assert any("densegym-tests-" in d for d in during["dirs"] - before["dirs"])
        assert started, "no language server or test run was seen"
        os.kill(worker, signal.SIGKILL)
        stepping.join(timeout=60)
        assert isinstance(results[0], EnvFailure) and "died" in results[0].reason
        assert pool.worker_pids[0] != worker  # restarted
    finally:
        pool.close()
    after = _ours()
    assert not [p for p in started if process_alive(p)], "a process the killed worker started survived it"
    assert after["dirs"] - before["dirs"] == set()
    assert after["cgroups"] - before["cgroups"] == set()
