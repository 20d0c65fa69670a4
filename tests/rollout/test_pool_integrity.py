"""EnvPool answer integrity and process hygiene (review "Reward integrity", B and C), with real workers.

B: an answer that pickles in the worker but cannot be unpickled here used to raise out of ``step`` and leave
the other workers' answers unread in their pipes, so the next call took the previous call's answers for its
own (slots desynchronised: rewards credited to the wrong step). C: a worker killed for a timeout left the
processes its env had started running, and ``close()`` did not end them either.
"""

from __future__ import annotations

import os
import time

from densegym.envpool import EnvFailure, EnvPool, _send

from densegym.sandbox.processes import process_alive as _alive

from .envs import SecretEnv, check_bad_answer_fails_its_slot_only, guesses as _guesses


def _gone_within(pid: int, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    return not _alive(pid)


def test_an_answer_that_does_not_unpickle_fails_its_slot_and_later_calls_get_their_own_answers():
    with EnvPool(SecretEnv, num_envs=2, num_workers=2) as pool:
        check_bad_answer_fails_its_slot_only(pool)


def test_a_bad_answer_fails_only_its_own_slot_among_a_workers_slots():
    # both slots in one worker: the answers travel in one message, each slot's value as its own pickle
    with EnvPool(SecretEnv, num_envs=2, num_workers=1) as pool:
        check_bad_answer_fails_its_slot_only(pool)


def test_an_answer_left_unread_by_an_abandoned_call_is_discarded():
    """A call abandoned half-way (its answers never read) leaves answers in the pipes; they carry that call's
    id and the next call skips them instead of taking them as its own."""
    with EnvPool(SecretEnv, num_envs=2, num_workers=2) as pool:
        pool.reset({0: (0, None, 0), 1: (1, None, 1)})
        # what an abandoned call leaves behind: a command whose answer nobody reads
        _send(pool._workers[1].conn, (pool._call_id, "call", [(0, ("action_help", (), False))]))
        results = pool.step({0: "<action>a</action>", 1: "<action>b</action>"})
        assert _guesses(results[0]) == _guesses(results[1]) == "No. Guesses so far: 1."
        results = pool.call("privileged", [0, 1])
        assert all(set(r) == {"gold"} for r in results.values())


def test_a_timed_out_worker_takes_the_processes_its_env_started_with_it(tmp_path):
    with EnvPool(SecretEnv, num_envs=2, num_workers=2, step_timeout=3) as pool:
        pool.reset({0: (0, None, 0), 1: (1, None, 1)})
        pidfile = tmp_path / "hang.pid"
        victim = pool.worker_pids[0]
        results = pool.step({0: f"<action>spawn-hang:{pidfile}</action>", 1: "<action>x</action>"})
        assert isinstance(results[0], EnvFailure) and "timeout" in results[0].reason
        child = int(pidfile.read_text())
        assert _gone_within(child), "the env's child process outlived its worker's timeout kill"
        assert not _alive(victim) and victim not in pool.worker_pids and pool.restarts == 1
        # the restarted worker serves its slot, the other slot carried on
        obs, _ = pool.reset({0: (2, None, 0)})[0]
        assert "Guess the secret" in obs
        assert _guesses(pool.step({0: "<action>y</action>"})[0]) == "No. Guesses so far: 1."
        assert _guesses(pool.step({1: "<action>y</action>"})[1]) == "No. Guesses so far: 2."


def test_close_ends_the_processes_the_envs_started(tmp_path):
    pool = EnvPool(SecretEnv, num_envs=2, num_workers=2)
    try:
        pool.reset({0: (0, None, 0), 1: (1, None, 1)})
        results = pool.step({s: f"<action>spawn:{tmp_path / f'{s}.pid'}</action>" for s in (0, 1)})
        children = [results[s][4]["child_pid"] for s in (0, 1)]
        assert all(_alive(c) for c in children)
        workers = pool.worker_pids
        for w in workers:
            assert os.getpgid(w) == w, "every worker leads its own process group"
    finally:
        pool.close()
    assert all(_gone_within(c) for c in children), "close() left the envs' child processes running"
    assert not any(_alive(w) for w in workers)
