"""A worker killed mid-step leaves nothing behind: no language server, no test-run process, no temp dir, no
cgroup (real EnvPool workers, a real server, a real sandboxed test run, SIGKILL)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from densegym import leftovers
from densegym.envs.lsp.servers import server_available
from densegym.envpool import EnvFailure, EnvPool
from densegym.sandbox import bubblewrap_path
from densegym.sandbox.processes import process_alive
from tests.helpers import require

# A test run that takes long enough to be caught in the middle.
SLOW = "import time\ntime.sleep(30)\n"


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return 0


def _descendants(root: int) -> dict[int, bytes]:
    """Live processes under ``root`` (by parent links), with their command lines."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid, seen = int(entry), 0
        ancestor = _parent(pid)
        while ancestor > 1 and ancestor != root and seen < 64:
            ancestor, seen = _parent(ancestor), seen + 1
        if ancestor == root and process_alive(pid):
            try:
                out[pid] = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                pass
    return out


def test_a_killed_lsp_worker_leaves_nothing_behind():
    require(server_available("basedpyright"), "the basedpyright language server", "pip install 'densegym[lsp]'")
    require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")
    pool = EnvPool("densegym/LSPCode-easy-v0", num_envs=1, num_workers=1, env_kwargs={"test_timeout_s": 60},
                   step_timeout=120)  # fmt: skip
    ledger_dir = Path(pool._ledgers)
    try:
        pool.reset({0: (0, {"task": "lsp:ledger:d1:6"}, 0)})
        pool.step({0: f"<action>edit ledger/__init__.py\n{SLOW}</action>"})
        worker, ledger = pool.worker_pids[0], pool._workers[0].ledger
        results: dict = {}
        stepping = threading.Thread(target=lambda: results.update(pool.step({0: "<action>run_tests</action>"})))
        stepping.start()
        deadline = time.monotonic() + 60
        started: dict[int, bytes] = {}
        while time.monotonic() < deadline:  # until the test run is under way
            started = _descendants(worker)
            if any(b"test_hidden.py" in cmd for cmd in started.values()):
                break
            time.sleep(0.05)
        owned = leftovers.outstanding(ledger)
        kinds = {kind for kind, _ in owned}
        assert any(b"langserver" in cmd for cmd in started.values()) and any(b"test_hidden.py" in c for c in started.values())
        assert {"dir", "process_group"} <= kinds  # the workspaces, the language server (and a cgroup where there are)
        os.kill(worker, signal.SIGKILL)
        stepping.join(timeout=60)
        assert isinstance(results[0], EnvFailure) and "died" in results[0].reason
        assert pool.worker_pids[0] != worker  # restarted
    finally:
        pool.close()
    deadline = time.monotonic() + 5
    while any(process_alive(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = {p: cmd[:120] for p, cmd in started.items() if process_alive(p)}
    assert not survivors, f"a process the killed worker started survived it: {survivors}"
    assert [ref for kind, ref in owned if kind in ("dir", "cgroup") and os.path.exists(str(ref))] == []
    assert not ledger_dir.exists()
