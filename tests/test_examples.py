"""The extension path works: a new env with its own reward hook, and a custom training loop over gym.make."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_new_env_with_custom_hook():
    mod = _load("guess_number_env")
    check_env(mod.GuessNumberEnv())
    env = gym.make("examples/GuessNumber-v0", rewards={"halving": 0.5})
    for secret in (1, 37, 64, 100):
        _, info = env.reset(options={"task": secret})
        assert info["privileged"] == {"secret": secret}
        bits, turns = 0.0, 0
        while True:
            _, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
            turns += 1
            c = info["reward_components"]
            assert set(c) == {"halving", "progress", "format", "outcome"}
            assert reward == pytest.approx(0.5 * c["halving"] + c["progress"] + 0.1 * c["format"] + c["outcome"])
            bits += c["halving"]
            if terminated or truncated:
                break
        assert info["success"] and turns <= math.ceil(math.log2(100)) + 1
        assert bits == pytest.approx(math.log2(100))  # all the information there was, and no more
    _, info = env.reset(options={"task": 50})
    _, _, _, _, info = env.step("<action>500</action>")
    assert not info["action_valid"] and info["reward_components"]["halving"] == 0.0
    with pytest.raises(ValueError, match="unknown reward component"):
        gym.make("examples/GuessNumber-v0", rewards={"nope": 1.0})


def test_custom_training_loop_learns_with_dense_rewards():
    mod = _load("custom_training_loop")
    dense = mod.train(episodes=200, seed=0)
    assert dense[-1] >= 0.9 and dense[0] < dense[-1]


def test_custom_estimator_is_registered_selected_and_trained(tmp_path):
    pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")
    import numpy as np

    from densegym.trainers import TrainerConfig, unregister_estimator
    from densegym.trainers.estimators import get_spec, grpo
    from densegym.trajectory import Trajectory, Turn

    mod = _load("custom_estimator")
    try:
        assert get_spec("mixed_return").fn is mod.mixed_return
        # the math: GRPO's outcome advantage plus the weighted, group-normalised discounted return
        batch = [Trajectory(env_id="t", task_id="a", group_id="a", outcome=o, success=o > 0,
                            turns=[Turn(observation="o", action="a", reward=r, components={}) for r in rs])
                 for o, rs in ((1.0, (0.0, 1.0)), (0.0, (1.0, 0.0)))]
        config = mod.MixedReturnConfig(dense_weight=2.0, gamma=0.5)
        returns = np.array([0.5, 1.0, 1.0, 0.0])
        dense = (returns - returns.mean()) / (returns.std() + config.eps)
        expected = [g + 2.0 * d for g, d in zip(grpo(batch), (dense[:2], dense[2:]))]
        for got, want in zip(mod.mixed_return(batch, config), expected):
            np.testing.assert_allclose(got, want)
        with pytest.raises(ValueError, match="dense_norm='std' is not allowed"):
            TrainerConfig(estimator="mixed_return", estimator_config={"dense_norm": "std"})
        calls = []
        original = mod.mixed_return

        def counted(batch, config):
            calls.append(len(batch))
            return original(batch, config)

        from densegym.trainers import register_estimator

        register_estimator("mixed_return", counted, mod.MixedReturnConfig, replace=True)
        history = mod.train(steps=2, output_dir=str(tmp_path / "run"))
        assert [m["step"] for m in history] == [1, 2] and len(calls) == 2
        assert all(math.isfinite(m["loss"]) for m in history)
    finally:
        unregister_estimator("mixed_return")
