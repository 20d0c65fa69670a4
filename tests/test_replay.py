"""`densegym replay`: stored actions re-run on fresh envs reproduce every reward component (every registered id), a
changed file is caught at its first difference, `--rewards` re-scores without the agent, and an env that is not
deterministic says so."""

from __future__ import annotations

import json
import re
import textwrap

import gymnasium as gym
import pytest

import densegym  # noqa: F401 - registers the ids
from densegym.agents.scripted import OracleAgent, RandomAgent
from densegym.cli import EXIT_FAILED, EXIT_NONDETERMINISTIC, EXIT_USAGE, main
from densegym.envs.registration import ENVS
from densegym.episode import run_episode
from densegym.replay import ReplayError, replay, rescore
from densegym.trajectory import read_jsonl, write_jsonl

from tests.envs.test_checker import require_family

SOKOBAN = "densegym/Sokoban-small-v0"
KWARGS = '{"max_turns": 4, "rewards": {"format": 0.5}}'


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny env whose reward is a coin flip (not deterministic), and a reward hook, as .py files."""
    root = tmp_path_factory.mktemp("replay_files")
    (root / "replay_coin_env.py").write_text(textwrap.dedent('''
        import random

        from densegym.envs import ActionError, StepOutcome, TextEnv, extract_tag
        from densegym.rewards import RewardSet


        class CoinEnv(TextEnv):
            def default_rewards(self):
                return RewardSet({"luck": (lambda t: random.random(), 1.0)})  # the global, unseeded generator

            def sample_task(self, rng):
                return int(rng.integers(1, 4))

            def start(self, task):
                self.count = 0
                return "Say <action>up</action>."

            def parse_action(self, text):
                if (extract_tag(text) or "").strip() != "up":
                    raise ActionError("only up")
                return "up"

            def apply_action(self, parsed):
                self.count += 1
                return StepOutcome(f"count {self.count}")

            def state_view(self):
                return self.count

            def anchor(self):
                return str(self.count)

            def random_action(self, rng):
                return "<action>up</action>"
    '''))
    (root / "replay_hooks.py").write_text(textwrap.dedent('''
        def valid(t):
            return 1.0 if t.valid else -1.0
    '''))
    return root


@pytest.fixture(scope="module")
def sokoban_file(tmp_path_factory):
    """`densegym rollout` of a random agent: 3 episodes of at most 6 turns, with env kwargs (recorded in meta)."""
    path = tmp_path_factory.mktemp("replay_rollout") / "random.jsonl"
    code = main(["rollout", SOKOBAN, "--agent", "random", "--episodes", "3", "--max-turns", "6", "--workers", "1",
                 "--seed", "5", "--kwargs", KWARGS, "--out", str(path)])
    assert code == 0
    return path


@pytest.mark.parametrize("env_id", [e.id for e in ENVS])
def test_every_env_id_replays_exactly(env_id, tmp_path, capsys):
    require_family(env_id)
    kwargs = {"max_turns": 2}  # short episodes: the SWE family runs test suites
    env = gym.make(env_id, **kwargs)
    try:
        trajectories = [run_episode(env, agent, seed=seed, env_id=env_id) for seed, agent in
                        ((3, OracleAgent()), (4, RandomAgent()))]
    finally:
        env.close()
    for traj in trajectories:
        traj.meta["env_kwargs"] = kwargs  # as `densegym rollout` records them
        assert traj.turns and all(turn.components for turn in traj.turns)
    path = tmp_path / "t.jsonl"
    write_jsonl(path, trajectories)
    code, out, err = cli(capsys, "replay", str(path), "--json")
    assert code == 0, err
    report = json.loads(out.splitlines()[0])
    assert report["status"] == "reproduced" and report["replayed"] == 2
    assert report["turns"] == sum(len(t.turns) for t in trajectories)


def test_rollout_records_what_replay_needs_and_replays(sokoban_file, capsys):
    trajectories = list(read_jsonl(sokoban_file))
    assert [t.meta["env_kwargs"] for t in trajectories] == [json.loads(KWARGS)] * 3
    assert all(t.env_id == SOKOBAN and t.seed is not None and t.task_id for t in trajectories)
    code, out, err = cli(capsys, "replay", str(sokoban_file))
    assert code == 0, err
    assert "3 of 3 trajectories" in out and "every stored reward component reproduces" in out
    assert "note:" not in out  # nothing assumed


def test_a_file_without_env_kwargs_says_what_it_assumes(sokoban_file, tmp_path, capsys):
    old = list(read_jsonl(sokoban_file))
    for t in old:
        del t.meta["env_kwargs"]
    write_jsonl(tmp_path / "old.jsonl", old)
    # with the registered weight of format (0.1, not 0.5) the first turn's reward differs
    code, out, err = cli(capsys, "replay", str(tmp_path / "old.jsonl"))
    assert "note: trajectories without meta['env_kwargs']" in out and "registered kwargs" in out
    assert code == EXIT_FAILED and re.search(r"trajectory \d, turn \d, reward: stored ", err)
    code, out, err = cli(capsys, "replay", str(tmp_path / "old.jsonl"), "--kwargs", KWARGS)
    assert code == 0, err


def test_a_changed_component_is_reported_at_its_first_difference(sokoban_file, tmp_path, capsys):
    trajectories = list(read_jsonl(sokoban_file))
    stored = trajectories[1].turns[2].components["format"]
    trajectories[1].turns[2].components["format"] = stored + 0.5
    trajectories[2].turns[0].components["progress"] = 7.0  # a later one: not the first
    write_jsonl(tmp_path / "changed.jsonl", trajectories)
    code, out, err = cli(capsys, "replay", str(tmp_path / "changed.jsonl"))
    assert code == EXIT_FAILED
    assert len(err.strip().splitlines()) == 1
    assert f"trajectory 1, turn 2, component 'format': stored {stored + 0.5!r}, replayed {stored!r}" in err

    report = replay(trajectories)
    assert report.status == "differs" and not report.ok
    d = report.difference
    assert (d.trajectory, d.turn, d.what, d.stored, d.replayed) == (1, 2, "format", stored + 0.5, stored)
    assert report.replayed == 1  # trajectory 0 reproduced before it


def test_rewards_reweights_and_keeps_the_components(sokoban_file, tmp_path, capsys):
    out_path = tmp_path / "rescored.jsonl"
    weights = {"progress": 0.0, "outcome": 2.0, "format": 1.0}
    code, out, err = cli(capsys, "replay", str(sokoban_file), "--rewards", json.dumps(weights), "--out", str(out_path))
    assert code == 0, err
    assert "wrote 3 re-scored trajectories" in out
    stored, new = list(read_jsonl(sokoban_file)), list(read_jsonl(out_path))
    assert len(new) == len(stored) == 3
    for old, traj in zip(stored, new):
        assert [t.action for t in traj.turns] == [t.action for t in old.turns]
        assert [t.components for t in traj.turns] == [t.components for t in old.turns]
        full = {**old.turns[0].info["reward_weights"], **weights}
        for turn in traj.turns:
            assert turn.reward == pytest.approx(sum(full[n] * v for n, v in turn.components.items()))
            assert turn.info["reward_weights"] == full
        assert traj.meta["rescored"] == {"rewards": weights}
    # the re-scored file replays with the same weights
    code, _, err = cli(capsys, "replay", str(out_path), "--rewards", json.dumps(weights))
    assert code == 0, err


def test_rewards_adds_a_hook_by_module_attr(sokoban_file, files, tmp_path, capsys):
    out_path = tmp_path / "hooked.jsonl"
    spec = {"valid": [str(files / "replay_hooks.py") + ":valid", 0.5], "progress": 0.0}
    code, out, err = cli(capsys, "replay", str(sokoban_file), "--rewards", json.dumps(spec), "--out", str(out_path))
    assert code == 0, err
    for old, traj in zip(read_jsonl(sokoban_file), read_jsonl(out_path)):
        for before, turn in zip(old.turns, traj.turns):
            assert turn.components == {**before.components, "valid": 1.0 if before.action_valid else -1.0}
            weights = {**before.info["reward_weights"], "progress": 0.0, "valid": 0.5}
            assert turn.reward == pytest.approx(sum(weights[n] * v for n, v in turn.components.items()))
    # the Python API: a hook object and a weight
    new = rescore(read_jsonl(sokoban_file), {"always": (lambda t: 1.0, 2.0)})
    assert all(turn.components["always"] == 1.0 for t in new for turn in t.turns)


def test_bad_rewards_are_usage_errors(sokoban_file, capsys):
    code, _, err = cli(capsys, "replay", str(sokoban_file), "--rewards", '{"progres": 1.0}')
    assert code == EXIT_USAGE and "unknown reward component 'progres'" in err and len(err.splitlines()) == 1
    code, _, err = cli(capsys, "replay", str(sokoban_file), "--rewards", '{"x": "no_such_module_zz:hook"}')
    assert code == EXIT_USAGE and "no_such_module_zz" in err
    code, _, err = cli(capsys, "replay", str(sokoban_file), "--rewards", "[1]")
    assert code == EXIT_USAGE and "--rewards must be a JSON object" in err
    code, _, err = cli(capsys, "replay", str(sokoban_file), "--out", str(sokoban_file))
    assert code == EXIT_USAGE and "is the file being replayed" in err


def test_an_env_that_is_not_deterministic_says_so(files, tmp_path, capsys):
    spec = f"{files / 'replay_coin_env.py'}:CoinEnv"
    path = tmp_path / "coin.jsonl"
    code, _, err = cli(capsys, "rollout", spec, "--agent", "random", "--episodes", "2", "--max-turns", "3",
                       "--workers", "1", "--out", str(path))
    assert code == 0, err
    code, out, err = cli(capsys, "replay", str(path), "--json")
    assert code == EXIT_NONDETERMINISTIC
    assert "the env is not deterministic: two replays of trajectory 0's actions differ (component 'luck'" in err
    assert json.loads(out.splitlines()[0])["status"] == "nondeterministic"
    # re-scoring needs a deterministic env too
    with pytest.raises(ReplayError, match="not deterministic"):
        rescore(read_jsonl(path), {"luck": 2.0})


def test_failed_and_empty_trajectories_are_skipped_and_listed(sokoban_file):
    trajectories = list(read_jsonl(sokoban_file))
    trajectories[0].meta["failed"] = "the worker died"
    trajectories[1].turns = []
    report = replay(trajectories)
    assert report.ok and report.replayed == 1 and report.total == 3
    assert report.skipped == [(0, "its episode failed in the rollout"), (1, "it has no turns")]
