"""Asynchronous rollouts (docs/architecture.md, "Rollout: EnvPool and collect") with real worker processes.

What is checked is the order in which things finish (the JSONL that ``collect`` writes as episodes end, the
order ``poll`` returns results in), never a wall-clock threshold.
"""

from __future__ import annotations

import pytest

from densegym.agents import AgentOutput
from densegym.envpool import EnvFailure, EnvPool
from densegym.rollout import collect
from densegym.trajectory import read_jsonl

from .envs import PacedEnv, SecretEnv


class EchoAgent:
    """A real Agent-protocol implementation: answers every conversation with one action, counts its batches."""

    def __init__(self, text: str = "<action>go</action>"):
        self.text = text
        self.batches: list[int] = []

    def act(self, conversations):
        self.batches.append(len(conversations))
        return [AgentOutput(text=self.text) for _ in conversations]


def _slow_among_fast(fast_episodes: int) -> list[str]:
    return ["slow:3:2"] + [f"fast{i}:0.02:3" for i in range(fast_episodes)]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_slow_env_does_not_hold_back_the_fast_ones(tmp_path, workers):
    """One env whose steps sleep 3 s among 8 fast ones, sharing a worker with some or all of them: while the slow
    episode takes its two steps, the fast envs play every other episode (3 steps each) to the end."""
    out = tmp_path / "t.jsonl"
    tasks = [{"options": {"task": t}} for t in _slow_among_fast(24)]
    with EnvPool(PacedEnv, num_envs=9, num_workers=workers) as pool:
        groups = collect(EchoAgent(), pool, tasks, out=out, progress=False)
    assert all(len(g) == 1 and g[0].success and "failed" not in g[0].meta for g in groups)
    finished = [t.task_id for t in read_jsonl(out)]
    assert finished[-1] == "slow:3:2", "every fast episode ended before the slow one"
    assert len(finished) == 25 and len(groups[0][0].turns) == 2
    assert all(len(g[0].turns) == 3 for g in groups[1:])


def test_lockstep_collect_waits_for_the_slow_env(tmp_path):
    """The contrast: asynchronous=False is the former lockstep loop, where every turn waits for the slow env, so
    the fast episodes that started with it cannot end before it (they need 3 turns, it needs 2)."""
    out = tmp_path / "t.jsonl"
    tasks = [{"options": {"task": t}} for t in _slow_among_fast(8)]
    with EnvPool(PacedEnv, num_envs=9, num_workers=2) as pool:
        collect(EchoAgent(), pool, tasks, out=out, progress=False, asynchronous=False)
    finished = [t.task_id for t in read_jsonl(out)]
    assert finished[0] == "slow:3:2"


def test_poll_answers_each_slot_as_it_finishes():
    """The pool's own interface: three slots of one worker; the slot whose step sleeps 3 s is answered last, the
    fast ones ten times each while it runs."""
    with EnvPool(PacedEnv, num_envs=3, num_workers=1) as pool:
        tasks = {0: "slow:3:5", 1: "a:0.01:50", 2: "b:0.01:50"}
        pool.reset({s: (0, {"task": t}, s) for s, t in tasks.items()})
        pool.submit_many("step", {s: "<action>go</action>" for s in tasks})
        order: list[int] = []
        while 0 not in order:
            for slot, result in pool.poll(None):
                assert not isinstance(result, EnvFailure), result
                order.append(slot)
                if slot != 0 and order.count(slot) < 10:
                    pool.submit(slot, "step", "<action>go</action>")
        assert order[-1] == 0 and order.count(1) == order.count(2) == 10, order
        pool.submit(1, "step", "<action>go</action>")
        with pytest.raises(ValueError, match="already has a command"):
            pool.submit(1, "step", "<action>go</action>")
        assert [slot for slot, _ in pool.poll(None)] == [1]


def test_a_step_timeout_fails_that_episode_only(tmp_path):
    """A step that hangs, in a worker shared with other envs: that episode fails on the step timeout; the others
    of the same worker keep their episodes and every other task completes. Groups stay exact."""
    out = tmp_path / "t.jsonl"
    tasks = [{"options": {"task": "stuck:hang:3"}}] + [{"options": {"task": f"ok{i}:0.05:4"}} for i in range(5)]
    with EnvPool(PacedEnv, num_envs=4, num_workers=1, step_timeout=3) as pool:
        groups = collect(EchoAgent(), pool, tasks, group_size=2, out=out, progress=False)
        restarts = pool.restarts
    assert [len(g) for g in groups] == [2] * 6
    for task, g in zip(tasks, groups):
        assert {t.task_id for t in g} == {task["options"]["task"]} and {t.meta["group_index"] for t in g} == {0, 1}
    stuck = groups[0]
    assert all("timeout" in t.meta["failed"] and len(t.turns) == 1 for t in stuck)
    others = [t for g in groups[1:] for t in g]
    assert all("failed" not in t.meta and t.success and len(t.turns) == 4 for t in others)
    assert restarts >= 1, "the stuck step ended with its worker, once no other episode needed it"
    assert len(list(read_jsonl(out))) == 12


def test_a_timed_out_slot_does_not_cost_its_worker_s_other_open_episodes():
    """At the pool's level: slot 0 hangs while slot 1 (same worker) is mid-episode. Slot 0 fails by timeout; slot 1
    goes on stepping the same episode; the worker is restarted only after slot 1's episode has ended, and the
    reset waiting for slot 0 is then served by the fresh worker."""
    with EnvPool(SecretEnv, num_envs=2, num_workers=1, step_timeout=3) as pool:
        pool.reset({0: (0, None, 0), 1: (1, None, 1)})
        pid = pool.worker_pids[0]
        results = pool.step({0: "<action>hang</action>", 1: "<action>one</action>"})
        assert isinstance(results[0], EnvFailure) and "timeout" in results[0].reason
        assert "Guesses so far: 1" in results[1][0]
        assert pool.restarts == 0 and pool.worker_pids == [pid], "slot 1's episode is still open"
        pool.submit(0, "reset", (2, None, 0))  # waits for the restart
        assert pool.waiting == 1
        for n in (2, 3):
            assert f"Guesses so far: {n}" in pool.step({1: "<action>again</action>"})[1][0]
        secret = pool.call("oracle_action", [1])[1]
        assert pool.step({1: secret})[1][2], "slot 1 ends its episode on the worker that is retiring"
        [(slot, (obs, _))] = pool.poll(None)
        assert slot == 0 and "Guess the secret" in obs
        assert pool.restarts == 1 and pool.worker_pids != [pid]


def test_a_synchronous_call_for_a_timed_out_slot_does_not_wait_forever():
    """If the caller waits for the timed-out slot while another slot's episode stays open, the worker is restarted
    then, and that open episode answers its next step with a clear failure."""
    with EnvPool(SecretEnv, num_envs=2, num_workers=1, step_timeout=3) as pool:
        pool.reset({0: (0, None, 0), 1: (1, None, 1)})
        results = pool.step({0: "<action>hang</action>", 1: "<action>one</action>"})
        assert isinstance(results[0], EnvFailure)
        obs, _ = pool.reset({0: (2, None, 0)})[0]
        assert "Guess the secret" in obs and pool.restarts == 1
        lost = pool.step({1: "<action>two</action>"})[1]
        assert isinstance(lost, EnvFailure) and "lost" in lost.reason
        assert "Guess the secret" in pool.reset({1: (3, None, 1)})[1][0]


def test_privileged_crosses_the_pipe_only_when_it_changes():
    """A megabyte of privileged data: the reset's answer carries it, a step that leaves it unchanged carries a
    marker of a few bytes (and the worker pickles it once, not once per step), a step that changes it carries it
    again; the caller sees the full value in every result."""
    with EnvPool(PacedEnv, num_envs=1, num_workers=1, inline_ms=0) as pool:
        obs, info = pool.reset({0: (0, {"task": "big:0:10"}, 0)})[0]
        assert pool.answer_sizes[0] > PacedEnv.BLOB and len(info["privileged"]["blob"]) == PacedEnv.BLOB
        encodings = pool.privileged_encodings()
        sizes = []
        for _ in range(3):
            _, _, _, _, info = pool.step({0: "<action>go</action>"})[0]
            sizes.append(pool.answer_sizes[0])
            assert info["privileged"] == {"name": "big", "blob": "x" * PacedEnv.BLOB}
        assert max(sizes) < 2_000, sizes
        assert pool.privileged_encodings() == encodings, "an unchanged value is not pickled to be sent"
        _, _, _, _, info = pool.step({0: "<action>rotate</action>"})[0]
        assert pool.answer_sizes[0] > PacedEnv.BLOB and info["privileged"]["blob"][0] == "y"
        assert pool.privileged_encodings() == encodings + 1
        _, _, _, _, info = pool.step({0: "<action>go</action>"})[0]
        assert pool.answer_sizes[0] < 2_000 and info["privileged"]["blob"].startswith("yxx")
        # a new episode sends it again, even though the value is the same as the first episode's
        _, info = pool.reset({0: (0, {"task": "big:0:10"}, 0)})[0]
        assert pool.answer_sizes[0] > PacedEnv.BLOB and info["privileged"]["blob"][0] == "x"


def test_collect_trajectories_keep_their_privileged_values():
    tasks = [{"options": {"task": "big:0:3"}}, {"options": {"task": "small:0:3"}}]
    with EnvPool(PacedEnv, num_envs=2, num_workers=1) as pool:
        groups = collect(EchoAgent("<action>rotate</action>"), pool, tasks, group_size=2, progress=False)
    for g in groups:
        for t in g:
            name = t.task_id.split(":")[0]
            assert t.privileged["name"] == name and t.privileged["blob"][0] == "y", "3 rotations: the last value"
            assert all("privileged" not in turn.info for turn in t.turns)


def test_batching_policy(tmp_path):
    """max_batch caps every agent call; with every env equally fast and a generous max_wait_ms the agent gets
    full batches."""
    tasks = [{"options": {"task": f"t{i}:0:4"}} for i in range(8)]
    with EnvPool(PacedEnv, num_envs=8, num_workers=2) as pool:
        capped = EchoAgent()
        collect(capped, pool, tasks, progress=False, max_batch=3)
        assert max(capped.batches) <= 3 and sum(capped.batches) == 8 * 4
        full = EchoAgent()
        collect(full, pool, tasks, progress=False, max_wait_ms=5_000)
        assert full.batches == [8, 8, 8, 8]
    with pytest.raises(ValueError, match="max_batch"):
        collect(EchoAgent(), pool, tasks, max_batch=0)
