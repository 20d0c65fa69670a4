"""The trainer warns when a summing estimator gets weight on a farmable reward component (review "Reward
integrity", A): a hook that declares ``farmable = True`` is a per-state verdict (fine for comparing one state's
candidate actions, ``estimator: turn``) that pays for cycling once it is summed over turns."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

from densegym.envpool import EnvPool  # noqa: E402
from densegym.trainers import FarmableRewardWarning, TrainerConfig  # noqa: E402
from densegym.trainers.reward_checks import summed_reward_keys  # noqa: E402
from densegym.trainers.trainer import Trainer  # noqa: E402

FARMABLE_ENV = "tests.trainers.envs:FarmableLetterEnv"


def _config(tmp_path, **overrides) -> TrainerConfig:
    settings = dict(env=FARMABLE_ENV, steps=1, tasks_per_step=1, group_size=2, max_turns=2, max_new_tokens=4,
                    model_config={"num_hidden_layers": 1}, output_dir=str(tmp_path / "run"), progress=False,
                    overwrite=True)  # each call replaces the last run
    settings.update(overrides)
    return TrainerConfig(**settings)


def _warnings(config) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Trainer(config) as trainer:
            found = trainer.farmable
    messages = [str(w.message) for w in caught if issubclass(w.category, FarmableRewardWarning)]
    assert set(found) == ({"verdict"} if messages else set())
    return messages


def test_a_summing_estimator_with_weight_on_a_farmable_component_warns_once(tmp_path):
    weights = {"hit": 1.0, "outcome": 1.0, "verdict": 0.5}
    messages = _warnings(_config(tmp_path, estimator="gigpo", reward_weights=weights))
    assert len(messages) == 1
    assert "'verdict'" in messages[0] and "farmable" in messages[0] and "'gigpo'" in messages[0]
    assert "weight 0.5" in messages[0] and "hit" not in messages[0].split("(")[0]
    # grpo summing the component itself as its trajectory score
    messages = _warnings(_config(tmp_path, estimator="grpo", estimator_config={"score": "verdict"}))
    assert len(messages) == 1 and "'verdict'" in messages[0] and "sums ('verdict')" in messages[0]


def test_no_warning_without_weight_or_without_a_sum(tmp_path):
    assert _warnings(_config(tmp_path, estimator="gigpo")) == []  # the env's own weight for it is 0
    weights = {"hit": 1.0, "outcome": 1.0, "verdict": 1.0}
    assert _warnings(_config(tmp_path, estimator="turn", reward_weights=weights)) == []  # per-turn comparison
    assert _warnings(_config(tmp_path, estimator="grpo", reward_weights=weights)) == []  # scores the outcome


def test_which_keys_each_estimator_sums():
    from densegym.trainers.estimators import CONFIGS

    sums = {name: summed_reward_keys(name, CONFIGS[name]()) for name in CONFIGS}
    assert sums["turn"] == set() and sums["grpo"] == set() and sums["rloo"] == set()
    assert sums["gigpo"] == {"reward"} and sums["pure"] == {"reward"}


def test_sokobans_optimal_is_not_farmable_and_the_pool_reports_hooks():
    """Sokoban's ``optimal`` is safe to sum now (its sum is at most d0): the real env's hooks, read through a
    real EnvPool worker, declare no farmable component, so no weighting of it warns."""
    with EnvPool("densegym/Sokoban-small-v0", num_envs=1) as pool:
        hooks = pool.reward_hooks()
    assert set(hooks) == {"progress", "optimal", "deadlock", "format", "outcome"}
    assert hooks["optimal"]["weight"] == 0.0 and "d0" in hooks["optimal"]["description"]
    assert not any(h["farmable"] for h in hooks.values())
