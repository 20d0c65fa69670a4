"""What SWE episodes start outside their worker (containers, preloaded warm pools, temp dirs) is gone after
``EnvPool.close()`` and after a worker is SIGKILLed (the pool sweeps the dead worker's ledger), on both
executors."""

from __future__ import annotations

import glob
import os
import signal
import time

from densegym.envpool import EnvFailure, EnvPool
from densegym.sandbox.processes import process_alive

from .conftest import sample_ids


def _containers(pid: int) -> list[str]:
    import docker

    client = docker.from_env()
    try:
        return [c.id for c in client.containers.list(all=True, filters={"label": f"densegym.owner={pid}"})]
    finally:
        client.close()


def _workspaces() -> set[str]:
    return set(glob.glob("/tmp/densegym-ws-*")) | set(glob.glob("/tmp/densegym-run-*"))


def _gone(check, seconds: float = 30.0) -> bool:
    end = time.monotonic() + seconds
    while check() and time.monotonic() < end:
        time.sleep(0.2)
    return not check()


def test_close_and_a_killed_worker_leave_nothing_behind(kind):
    before = _workspaces()
    task_id = sample_ids(1, seed=50)[0]
    pool = EnvPool("densegym/SWE-v0", num_envs=2, num_workers=2, env_kwargs={"executor": kind})
    try:
        pool.reset({0: (0, {"task": task_id}, 0), 1: (1, {"task": task_id}, 1)})
        pool.step({0: "<action>bash\nls</action>", 1: "<action>bash\nls</action>"})
        victim, survivor = pool.worker_pids
        if kind == "docker":
            assert _containers(victim) and _containers(survivor)
        else:
            assert _workspaces() - before
        os.kill(victim, signal.SIGKILL)
        assert _gone(lambda: process_alive(victim))
        result = pool.step({0: "<action>bash\nls</action>"})[0]
        assert isinstance(result, EnvFailure)  # the slot's episode is lost, its worker restarted and swept
        if kind == "docker":
            assert _gone(lambda: _containers(victim)), "the killed worker's containers outlived it"
        workers = pool.worker_pids
    finally:
        pool.close()
    for pid in workers:
        assert _gone(lambda pid=pid: process_alive(pid))
        if kind == "docker":
            assert _gone(lambda pid=pid: _containers(pid)), "close() left a worker's containers"
    assert _gone(lambda: _workspaces() - before), f"temp dirs left: {_workspaces() - before}"
