"""collect() and EnvPool against real envs in real worker processes."""

from __future__ import annotations

import os
import signal

import pytest

from densegym.agents import AgentOutput, OracleAgent, RandomAgent
from densegym.agents.context import ContextPolicy
from densegym.rollout import EnvFailure, EnvPool, collect
from densegym.trajectory import read_jsonl

from .envs import SecretEnv, check_fault_isolation


class RecordingAgent:
    """A real Agent-protocol implementation that remembers every conversation it was shown."""

    def __init__(self, script=lambda conv, i: "<action>guess</action>"):
        self.seen: list[list[dict]] = []
        self.calls = 0
        self.script = script

    def act(self, conversations):
        self.calls += 1
        self.seen.extend(conversations)
        return [AgentOutput(text=self.script(conv, self.calls)) for conv in conversations]


@pytest.fixture(scope="module")
def sokoban_pool():
    pool = EnvPool("densegym/Sokoban-small-v0", num_envs=4, num_workers=2)
    yield pool
    pool.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "zombie" not in f.read().lower()
    except FileNotFoundError:
        return False


def test_oracle_groups_share_the_task_and_stream_to_jsonl(sokoban_pool, tmp_path):
    out = tmp_path / "traj.jsonl"
    groups = collect(OracleAgent(), sokoban_pool, [0, 1, 2], group_size=3, out=out, progress=False)
    assert [len(g) for g in groups] == [3, 3, 3]
    for g in groups:
        assert len({t.task_id for t in g}) == 1 and len({t.group_id for t in g}) == 1
        assert all(t.success and t.terminated for t in g)
        assert all(len(t.turns) == t.privileged["start_distance"] for t in g)
    assert len({g[0].task_id for g in groups}) == 3
    on_disk = list(read_jsonl(out))
    assert len(on_disk) == 9
    assert sorted(t.task_id for t in on_disk) == sorted(t.task_id for g in groups for t in g)


def test_group_members_differ_in_sampling(sokoban_pool):
    groups = collect(RandomAgent(), sokoban_pool, [5, 6], group_size=4, max_turns=12, progress=False)
    for g in groups:
        assert len({t.task_id for t in g}) == 1
        assert len({tuple(turn.action for turn in t.turns) for t in g}) == 4
        assert all(t.truncated and len(t.turns) == 12 for t in g if not t.success)
    again = collect(RandomAgent(), sokoban_pool, [5, 6], group_size=4, max_turns=12, progress=False)
    assert [[[u.action for u in t.turns] for t in g] for g in again] == [
        [[u.action for u in t.turns] for t in g] for g in groups
    ], "same seed, same sampling"


def test_privileged_never_reaches_a_prompt():
    agent = RecordingAgent()
    with EnvPool(SecretEnv, num_envs=3, num_workers=1) as pool:
        groups = collect(agent, pool, list(range(6)), group_size=2, progress=False)
    golds = {t.privileged["gold"] for g in groups for t in g}
    assert len(golds) >= 3
    assert agent.seen
    for conversation in agent.seen:
        for message in conversation:
            assert not any(gold in message["content"] for gold in golds)
    for g in groups:
        for t in g:
            assert all("privileged" not in turn.info for turn in t.turns)
            assert t.privileged["gold"] not in t.meta.get("final_observation", "")


def test_a_killed_worker_fails_only_its_own_trajectories():
    killed = {}

    def script(conv, call):
        if call == 3 and not killed:
            pid = pool.worker_pids[0]
            os.kill(pid, signal.SIGKILL)
            killed["pid"] = pid
        return "<action>guess</action>"

    agent = RecordingAgent(script)
    pool = EnvPool(SecretEnv, num_envs=4, num_workers=2)
    try:
        groups = collect(agent, pool, list(range(4)), group_size=2, progress=False)
        trajs = [t for g in groups for t in g]
        failed = [t for t in trajs if "failed" in t.meta]
        assert len(failed) == 2, "the killed worker owned two slots"
        assert all("died" in t.meta["failed"] for t in failed)
        assert all(len(t.turns) == 2 for t in failed)  # two turns finished before the kill
        complete = [t for t in trajs if "failed" not in t.meta]
        assert len(complete) == 6 and all(t.truncated and len(t.turns) == 6 for t in complete)
        assert pool.restarts == 1 and killed["pid"] not in pool.worker_pids
        # the restarted worker serves the next collection normally
        after = collect(OracleAgent(), pool, list(range(4)), progress=False)
        assert all(t.success for g in after for t in g)
    finally:
        pool.close()


def test_step_timeout_and_env_exceptions_are_isolated():
    with EnvPool(SecretEnv, num_envs=2, num_workers=2, step_timeout=3) as pool:
        check_fault_isolation(pool, died="exit code 3")


def test_close_leaves_no_process_behind():
    pool = EnvPool("densegym/Sokoban-small-v0", num_envs=3, num_workers=3)
    pids = pool.worker_pids
    assert len(pids) == 3 and all(_alive(p) for p in pids)
    pool.close()
    assert not any(_alive(p) for p in pids)
    with pytest.raises(RuntimeError, match="closed"):
        pool.step({0: "<action>up</action>"})


def test_lambda_factories_and_bad_factories():
    with EnvPool(lambda: SecretEnv(max_turns=2), num_envs=1) as pool:
        groups = collect(RecordingAgent(), pool, [0], progress=False)
        assert len(groups[0][0].turns) == 2
    with pytest.raises(RuntimeError, match="building the env failed"):
        EnvPool("densegym/NoSuchEnv-v0", num_envs=1)


def test_context_policies_and_token_budget():
    obs, acts = ["task", "o1", "o2", "o3"], ["a1", "a2", "a3"]
    full = ContextPolicy("full").build(obs, acts)
    assert [m["content"] for m in full] == ["task", "a1", "o1", "a2", "o2", "a3", "o3"]
    assert [m["role"] for m in full][:3] == ["user", "assistant", "user"]
    last = ContextPolicy("last_k", k=1).build(obs, acts)
    assert [m["content"] for m in last] == ["task", "a3", "o3"]
    current = ContextPolicy("current", system_prompt="be brief").build(obs, acts)
    assert [m["content"] for m in current] == ["be brief", "task", "o3"]
    count = lambda conv: sum(len(m["content"]) for m in conv)  # noqa: E731
    fitted = ContextPolicy("full", max_tokens=12, count_tokens=count).build(obs, acts)
    assert [m["content"] for m in fitted] == ["task", "a2", "o2", "a3", "o3"]
    agent = RecordingAgent()
    with EnvPool(SecretEnv, num_envs=1) as pool:
        policy = ContextPolicy("full", max_tokens=25, count_tokens=lambda conv: 10 * len(conv))
        traj = collect(agent, pool, [0], context=policy, progress=False)[0][0]
    assert traj.truncated and "budget is 25" in traj.meta["context_overflow"]
    assert len(traj.turns) == 1 and [len(c) for c in agent.seen] == [1]


def test_an_answer_that_does_not_pickle_fails_its_slot_only():
    # answers travel as standard pickles: a method returning a function fails its call, not the worker
    factory = lambda: type("FnEnv", (SecretEnv,), {"make_fn": lambda self: (lambda: 1)})()  # noqa: E731
    with EnvPool(factory, num_envs=1) as pool:
        [answer] = pool.call("make_fn", [0]).values()
        assert isinstance(answer, EnvFailure) and "could not be pickled" in answer.reason
        assert pool.call("action_help", [0]) == {0: "Reply <action>your guess</action>."}
        assert pool.restarts == 0


@pytest.mark.parametrize("asynchronous", [True, False])
def test_an_episode_the_env_could_not_score_is_marked_failed(asynchronous):
    """An env that ends an episode with info["failed"] (a service it needs is down) gets the episode marked
    failed, as a worker failure would be, so a trainer drops it instead of training on outcome 0."""
    def second_turn_unscorable(conv, calls):
        answered = sum(m["role"] == "assistant" for m in conv)
        return "<action>unscorable</action>" if answered == 1 else "<action>guess</action>"

    agent = RecordingAgent(second_turn_unscorable)
    with EnvPool(SecretEnv, num_envs=2, num_workers=1) as pool:
        groups = collect(agent, pool, [0, 1], progress=False, asynchronous=asynchronous)
    trajs = [t for g in groups for t in g]
    assert [t.meta.get("failed") for t in trajs] == ["grader unreachable"] * 2
    assert all(len(t.turns) == 2 and t.terminated for t in trajs)


def test_run_episode_marks_an_unscorable_episode_failed():
    from densegym.episode import run_episode

    class Unscorable:
        def act(self, env, observation):
            return "<action>unscorable</action>"

    traj = run_episode(SecretEnv(), Unscorable(), seed=0)
    assert traj.meta["failed"] == "grader unreachable"
