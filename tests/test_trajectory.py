"""Turn / Trajectory JSONL: round trips, appends, crash tolerance; trajectories recorded by run_episode."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import densegym  # noqa: F401 - registers the ids
from densegym.agents import OracleAgent, RandomAgent
from densegym.episode import run_episode
from densegym.trajectory import Trajectory, TrajectoryWriter, Turn, read_jsonl, write_jsonl


def make_trajectory(i: int) -> Trajectory:
    turns = [
        Turn(
            observation=f"obs {i} 🙂 中文\n\"quoted\" \\ back",
            action="<action>up</action>",
            reward=-0.1 + i / 3,
            components={"progress": 1 / 3, "format": -1.0},
            action_valid=False,
            anchor=f"p{i}b3",
            info={"turn": 1, "nested": {"a": [1, 2.5, None]}},
        ),
        Turn(
            observation="",
            action="",
            reward=0.0,
            components={},
            prompt_ids=[1, 2, 3],
            action_ids=[4, 5],
            action_logprobs=[-0.25, -1e-9],
        ),
    ]
    return Trajectory(
        env_id="densegym/Sokoban-small-v0",
        task_id=f"gen:6x6:b2:d9-15:s{i}",
        seed=i,
        group_id=f"g{i % 2}",
        turns=turns,
        success=bool(i % 2),
        outcome=float(i % 2),
        terminated=bool(i % 2),
        truncated=not i % 2,
        privileged={"distance": 0, "start_distance": 9},
        meta={"agent": "test", "ünicode": "✓"},
    )


def test_round_trip(tmp_path):
    path = tmp_path / "sub" / "t.jsonl"  # the writer creates missing folders
    trajs = [make_trajectory(i) for i in range(3)]
    assert write_jsonl(path, trajs) == 3
    back = list(read_jsonl(path))
    assert back == trajs
    assert all(isinstance(t, Trajectory) and all(isinstance(u, Turn) for u in t.turns) for t in back)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and all(json.loads(line)["env_id"] == "densegym/Sokoban-small-v0" for line in lines)


def test_two_writers_append(tmp_path):
    path = tmp_path / "t.jsonl"
    a, b, c, d = (make_trajectory(i) for i in range(4))
    with TrajectoryWriter(path) as w1, TrajectoryWriter(path) as w2:
        w1.write(a)
        w2.write(b)
        w1.write(c)
        assert (w1.count, w2.count) == (2, 1)
    with TrajectoryWriter(path) as w3:  # reopening appends, it does not truncate
        w3.write(d)
    assert list(read_jsonl(path)) == [a, b, c, d]


def test_each_write_is_on_disk_before_close(tmp_path):
    path = tmp_path / "t.jsonl"
    writer = TrajectoryWriter(path)
    writer.write(make_trajectory(0))
    assert list(read_jsonl(path)) == [make_trajectory(0)]  # flushed, not buffered until close
    writer.close()


def test_truncated_last_line_is_skipped(tmp_path):
    path = tmp_path / "t.jsonl"
    write_jsonl(path, [make_trajectory(0), make_trajectory(1)])
    full = json.dumps(make_trajectory(2).to_dict())
    with path.open("a", encoding="utf-8") as f:
        f.write(full[: len(full) // 2])  # a crash mid-write: no newline
    assert list(read_jsonl(path)) == [make_trajectory(0), make_trajectory(1)]


def test_corrupt_middle_line_raises(tmp_path):
    path = tmp_path / "t.jsonl"
    good = json.dumps(make_trajectory(0).to_dict())
    path.write_text(good + "\n" + good[:50] + "\n" + good + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2"):
        list(read_jsonl(path))


def test_corrupt_last_line_with_newline_raises(tmp_path):
    """A complete (newline-terminated) last line that is not JSON is corruption, not a crash mid-write."""
    path = tmp_path / "t.jsonl"
    good = json.dumps(make_trajectory(0).to_dict())
    path.write_text(good + "\n" + "{not json\n", encoding="utf-8")
    with pytest.raises(ValueError):
        list(read_jsonl(path))


def test_lone_surrogate_in_action_round_trips(tmp_path):
    """An agent's text can hold lone surrogates (``json.loads('"\\ud800"')`` from an HTTP API); the env
    answers such an action normally, so recording it must not crash the writer."""
    path = tmp_path / "t.jsonl"
    traj = make_trajectory(0)
    traj.turns[0].action = "<action>\ud800</action>"
    traj.turns[0].observation = "\udfff"
    write_jsonl(path, [traj, make_trajectory(1)])
    assert list(read_jsonl(path)) == [traj, make_trajectory(1)]


def test_unknown_field_raises():
    data = make_trajectory(0).to_dict() | {"bogus": 1}
    with pytest.raises(ValueError, match="bogus"):
        Trajectory.from_dict(data)


# ---- trajectories from real episodes ------------------------------------------------------------


@pytest.fixture(scope="module")
def oracle_trajectories():
    env = gym.make("densegym/Sokoban-small-v0")
    trajs = [run_episode(env, OracleAgent(), seed=s) for s in range(4)]
    env.close()
    return trajs


def test_oracle_episodes_progress_sums_to_one(oracle_trajectories, tmp_path):
    for traj in oracle_trajectories:
        assert traj.success and traj.terminated and not traj.truncated and traj.outcome == 1.0
        assert traj.env_id == "densegym/Sokoban-small-v0"
        assert traj.task_id.startswith("gen:6x6:b2:")
        sums = traj.component_sums()
        assert sums["progress"] == pytest.approx(1.0, abs=1e-9)
        assert sums["outcome"] == 1.0
        assert sums["format"] == 0.0
        assert sums["optimal"] == len(traj.turns)  # the oracle plays only optimal moves
        assert len(traj.turns) == traj.privileged["start_distance"]
        assert traj.privileged["distance"] == 0
        assert traj.total_reward == pytest.approx(1.0 + 1.0)  # progress and outcome at weight 1
        assert len({t.anchor for t in traj.turns}) == len(traj.turns)  # every turn starts from a new state
    path = tmp_path / "o.jsonl"
    write_jsonl(path, oracle_trajectories)
    assert list(read_jsonl(path)) == oracle_trajectories


def test_random_episodes_and_privileged_never_shown():
    env = gym.make("densegym/Sokoban-small-v0")
    trajs = [run_episode(env, RandomAgent(seed=s), seed=100 + s) for s in range(3)]
    env.close()
    for traj in trajs:
        assert traj.privileged is not None and "distance" in traj.privileged
        # progress telescopes: its sum is phi(last) - phi(start) = 1 - d_last / d0 (when the level is still solvable)
        d_last, d0 = traj.privileged["distance"], traj.privileged["start_distance"]
        if d_last != -1:  # -1: the level died
            assert traj.component_sums()["progress"] == pytest.approx(1 - d_last / d0, abs=1e-9)
        shown = [t.observation for t in traj.turns] + [traj.meta["final_observation"]]
        assert shown[0].startswith("You are playing Sokoban")
        assert all("privileged" not in turn.info for turn in traj.turns)
        for obs in shown:
            for key in ("distance", "start_distance", "distance_exact", "privileged"):
                assert key not in obs
        json.dumps(traj.to_dict())  # JSON-serialisable as recorded
