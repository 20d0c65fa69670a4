"""RayEnvPool: collect() and the EnvPool failure handling, with envs in Ray actors on a local Ray instance.

Ray starts once for this module (it takes seconds), on 127.0.0.1 only, and the module checks at the end that
shutting it down left no process behind.
"""

from __future__ import annotations

import os
import signal
import time

import gymnasium as gym
import pytest

from densegym.agents import AgentOutput, OracleAgent
from densegym.envpool import EnvFailure
from densegym.rollout import collect
from tests.helpers import require

from .envs import SecretEnv, check_bad_answer_fails_its_slot_only, check_fault_isolation

# Ray picks the machine's network address unless told it is a single-node instance; with this set before
# Ray is imported its servers bind to the loopback interface only.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
try:
    import ray
except ImportError:
    ray = None

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pids, seconds: float = 20.0) -> set[int]:
    """The pids still alive after waiting up to ``seconds`` for them to exit (process exit is not instant)."""
    end = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.2)
    return {p for p in pids if _alive(p)}


@pytest.fixture(scope="module")
def local_ray():
    require(ray is not None, "Ray", "pip install 'densegym[ray]'")
    if ray.is_initialized():
        pytest.fail("Ray is already running in this process; this module starts and stops its own instance")
    before = _descendants(os.getpid())  # e.g. multiprocessing's resource tracker, which outlives its pools
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        runtime_env={"env_vars": {"PYTHONPATH": REPO}},  # the actors import tests.rollout.envs
    )
    yield ray
    started = _descendants(os.getpid()) - before
    ray.shutdown()
    assert started, "Ray ran in child processes of this one"
    assert not _wait_gone(started), "ray.shutdown() left processes behind"


@pytest.fixture(scope="module")
def RayEnvPool(local_ray):  # noqa: N802 - the class under test
    from densegym.raypool import RayEnvPool

    return RayEnvPool


class GuessAgent:
    """A real Agent-protocol implementation: guesses a fixed word and remembers every prompt it saw."""

    def __init__(self):
        self.seen = []

    def act(self, conversations):
        self.seen.extend(conversations)
        return [AgentOutput(text="<action>guess</action>") for _ in conversations]


def test_ray_is_local_only(local_ray):
    assert local_ray.util.get_node_ip_address() == "127.0.0.1"
    assert {n["NodeManagerAddress"] for n in local_ray.nodes()} == {"127.0.0.1"}


def test_collect_runs_in_ray_actors(RayEnvPool, tmp_path):
    with RayEnvPool("densegym/Sokoban-small-v0", num_envs=4, num_workers=2, actor_options={"num_cpus": 0.5}) as pool:
        assert len(set(pool.worker_pids)) == 2 and os.getpid() not in pool.worker_pids
        groups = collect(OracleAgent(), pool, [3, 4], group_size=2, out=tmp_path / "t.jsonl", progress=False)
        env = gym.make("densegym/Sokoban-small-v0")
        expected = [env.reset(seed=s)[1]["task_id"] for s in (3, 4)]
        env.close()
        assert [[t.task_id for t in g] for g in groups] == [[expected[0]] * 2, [expected[1]] * 2]
        assert all(t.success and len(t.turns) == t.privileged["start_distance"] for g in groups for t in g)
        assert len((tmp_path / "t.jsonl").read_text().splitlines()) == 4

    agent = GuessAgent()
    with RayEnvPool(SecretEnv, num_envs=2, num_workers=1, actor_options={"num_cpus": 0.5}) as pool:
        groups = collect(agent, pool, [0, 1, 2], progress=False)
    golds = {g[0].privileged["gold"] for g in groups}
    assert len(golds) == 3 and all(g[0].truncated and len(g[0].turns) == 6 for g in groups)
    assert not any(gold in m["content"] for conv in agent.seen for m in conv for gold in golds)


def test_timeouts_env_errors_and_dead_actors_fail_only_their_slots(RayEnvPool):
    with RayEnvPool(SecretEnv, num_envs=2, num_workers=2, step_timeout=3, actor_options={"num_cpus": 0.5}) as pool:
        check_fault_isolation(pool, died="actor died")
        pool.reset({0: (0, None, 0), 1: (1, None, 1)})
        victim = pool.worker_pids[0]
        os.kill(victim, signal.SIGKILL)
        results = pool.step({0: "<action>x</action>", 1: "<action>x</action>"})
        assert isinstance(results[0], EnvFailure) and "actor died" in results[0].reason
        assert not isinstance(results[1], EnvFailure) and "Guesses so far: 1" in results[1][0], "the other actor"
        assert pool.restarts == 3 and victim not in pool.worker_pids
        obs, _ = pool.reset({0: (4, None, 0)})[0]
        assert "Guess the secret" in obs


def test_an_answer_that_does_not_unpickle_fails_its_slot_only(RayEnvPool):
    """As with EnvPool (tests/rollout/test_pool_integrity.py): the value pickles in the actor, its unpickling
    raises in this process; that slot fails, the other slot and every later call get their own answers."""
    with RayEnvPool(SecretEnv, num_envs=2, num_workers=2, actor_options={"num_cpus": 0.5}) as pool:
        check_bad_answer_fails_its_slot_only(pool)
    with RayEnvPool(SecretEnv, num_envs=2, num_workers=1, actor_options={"num_cpus": 0.5}) as pool:
        check_bad_answer_fails_its_slot_only(pool)


def test_close_ends_the_actors_and_bad_factories_fail_clearly(RayEnvPool):
    pool = RayEnvPool(SecretEnv, num_envs=2, num_workers=2, actor_options={"num_cpus": 0.5})
    pids = pool.worker_pids
    assert all(_alive(p) for p in pids)
    pool.close()
    assert not _wait_gone(pids)
    with pytest.raises(RuntimeError, match="RayEnvPool is closed"):
        pool.step({0: "<action>x</action>"})
    with pytest.raises(RuntimeError, match="building the env failed"):
        RayEnvPool("densegym/NoSuchEnv-v0", num_envs=1, actor_options={"num_cpus": 0.5})


def test_envs_in_one_actor_step_independently(RayEnvPool, tmp_path):
    """The asynchronous interface on Ray: one env whose steps sleep 3 s shares its actor with fast ones; the fast
    episodes all end before it (the order collect wrote them in), a hanging step fails its episode only, and an
    unchanged privileged value is not sent again."""
    from densegym.trajectory import read_jsonl

    from .envs import PacedEnv

    out = tmp_path / "t.jsonl"
    tasks = [{"options": {"task": t}} for t in ["slow:3:2"] + [f"fast{i}:0.02:3" for i in range(12)]]
    with RayEnvPool(PacedEnv, num_envs=5, num_workers=1, actor_options={"num_cpus": 0.5}) as pool:
        groups = collect(GuessAgent(), pool, tasks, out=out, progress=False)
    assert all(g[0].success for g in groups)
    assert [t.task_id for t in read_jsonl(out)][-1] == "slow:3:2"

    tasks = [{"options": {"task": "stuck:hang:3"}}] + [{"options": {"task": f"ok{i}:0.05:3"}} for i in range(3)]
    with RayEnvPool(PacedEnv, num_envs=3, num_workers=1, step_timeout=3, actor_options={"num_cpus": 0.5}) as pool:
        groups = collect(GuessAgent(), pool, tasks, group_size=2, progress=False)
        assert [len(g) for g in groups] == [2] * 4
        assert all("timeout" in t.meta["failed"] for t in groups[0])
        assert all(t.success and "failed" not in t.meta for g in groups[1:] for t in g)
        pool.reset({0: (0, {"task": "big:0:5"}, 0)})
        encodings = pool.privileged_encodings()
        for _ in range(2):
            info = pool.step({0: "<action>go</action>"})[0][4]
            assert len(info["privileged"]["blob"]) == PacedEnv.BLOB and pool.answer_sizes[0] < 2_000
        assert pool.privileged_encodings() == encodings
