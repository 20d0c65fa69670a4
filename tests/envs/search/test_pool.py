"""SearchQAEnv in a real EnvPool (spawned workers): one corpus and one index per worker, whatever the number of
envs, and the oracle's episodes collected with their privileged gold answers."""

from __future__ import annotations

import functools

import pytest

from densegym.agents.scripted import make_scripted_agent
from densegym.envpool import EnvPool
from densegym.envs.search import SearchQAEnv
from densegym.rollout import collect
from tests.helpers import require_import

require_import("multiprocess", "pip install 'densegym[test]'")


@pytest.fixture
def pool(search_cache):
    SearchQAEnv(num_docs=3000, cache_dir=search_cache).close()  # build the corpus and index once, up front
    factory = functools.partial(SearchQAEnv, num_docs=3000, cache_dir=str(search_cache))
    with EnvPool(factory, num_envs=4, num_workers=2, step_timeout=60) as p:
        yield p


def test_one_index_per_worker_and_the_oracle_collected(pool):
    described = pool.call("describe_index", range(4))
    by_pid: dict[int, set] = {}
    for info in described.values():
        by_pid.setdefault(info["pid"], set()).add((info["retriever_id"], info["corpus_id"]))
    assert len(by_pid) == 2 and all(len(objects) == 1 for objects in by_pid.values())
    assert len({info["index_path"] for info in described.values()}) == 1  # one index on disk for all
    groups = collect(make_scripted_agent("oracle"), pool, tasks=[{"options": {"task": i}} for i in range(6)], group_size=2,
                     progress=False)  # fmt: skip
    trajs = [t for g in groups for t in g]
    assert len(trajs) == 12 and not any("failed" in t.meta for t in trajs)
    assert sum(t.outcome for t in trajs) / len(trajs) >= 0.95
    for traj in trajs:
        assert traj.privileged["answer"] and traj.privileged["gold_docs"]
        assert all(traj.privileged["answer"] not in turn.observation for turn in traj.turns[:1])
