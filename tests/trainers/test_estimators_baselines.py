"""GRPO, RLOO and the registry (docs/algorithms.md sections 10 and 1(b) A^E)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from densegym.trainers.estimators import CONFIGS, ESTIMATORS, GRPOConfig, get_estimator, grpo, rloo
from densegym.trainers.estimators.common import broadcast_to_tokens
from tests.trainers.helpers import traj


def outcome_batch(outcomes, group="g", turns=2):
    return [traj(group, [0.0] * turns, outcome=o) for o in outcomes]


def firsts(advantages):
    return np.array([a[0] for a in advantages])


def test_grpo_numeric_example():
    """Section 10(e)2: R = [1, 0, 0, 1] gives 0.866024 * [1, -1, -1, 1] (unbiased std, eps 1e-6)."""
    adv = grpo(outcome_batch([1, 0, 0, 1]))
    np.testing.assert_allclose(firsts(adv), [0.866024, -0.866024, -0.866024, 0.866024], atol=1e-5)


def test_grpo_same_value_on_every_turn():
    batch = [traj("g", [0.0, 1.0, 2.0], outcome=1.0), traj("g", [0.0], outcome=0.0)]
    adv = grpo(batch)
    assert [a.shape for a in adv] == [(3,), (1,)]
    assert np.all(adv[0] == adv[0][0]) and adv[0][0] > 0 > adv[1][0]


def test_grpo_zero_sum_and_equal_rewards_give_zero():
    """Section 10(e)1."""
    rng = np.random.default_rng(0)
    adv = grpo(outcome_batch(rng.normal(size=6)))
    assert abs(firsts(adv).sum()) < 1e-9
    np.testing.assert_array_equal(firsts(grpo(outcome_batch([0.3] * 4))), 0.0)


def test_grpo_affine_invariance():
    """Section 10(e)3: R -> aR + b, a > 0, leaves A unchanged up to eps."""
    outcomes = np.array([0.1, 0.9, 0.4, 0.7])
    base = firsts(grpo(outcome_batch(outcomes)))
    shifted = firsts(grpo(outcome_batch(3.0 * outcomes + 5.0)))
    np.testing.assert_allclose(base, shifted, atol=1e-5)


def test_grpo_mean_norm_and_groups_are_separate():
    batch = outcome_batch([1, 0], group="a") + outcome_batch([5, 1, 3], group="b")
    adv = firsts(grpo(batch, GRPOConfig(norm_adv_by_std=False)))
    np.testing.assert_allclose(adv, [0.5, -0.5, 2.0, -2.0, 0.0])


def test_grpo_group_of_one_passes_through():
    """verl: G = 1 gives mean 0 and std 1; a None group_id is a group of its own."""
    batch = [traj(None, [0.0], outcome=0.7), traj(None, [0.0], outcome=0.2)]
    np.testing.assert_allclose(firsts(grpo(batch)), [0.7, 0.2])


def test_rloo_algebra():
    """Section 1(e)5: A_i = R_i - mean_{j != i} R_j = n/(n-1)(R_i - mean R), zero-sum per group."""
    outcomes = np.array([1.0, 0.0, 0.5, 0.25])
    adv = firsts(rloo(outcome_batch(outcomes)))
    loo = np.array([outcomes[i] - np.delete(outcomes, i).mean() for i in range(4)])
    np.testing.assert_allclose(adv, loo)
    np.testing.assert_allclose(adv, 4 / 3 * (outcomes - outcomes.mean()))
    assert abs(adv.sum()) < 1e-12
    np.testing.assert_allclose(firsts(rloo([traj("solo", [0.0], outcome=0.6)])), [0.6])  # n = 1: A = R


def test_registry_names_configs_and_error():
    assert set(ESTIMATORS) == {"grpo", "rloo", "turn", "igpo", "oprl", "gigpo", "pure"}
    assert set(CONFIGS) == set(ESTIMATORS)
    assert get_estimator("gigpo") is ESTIMATORS["gigpo"]
    with pytest.raises(ValueError, match="known: gigpo, grpo, igpo, oprl, pure, rloo, turn"):
        get_estimator("ppo")


def test_every_estimator_returns_one_value_per_turn():
    batch = [
        traj("g", [0.5, -1.0, 2.0], outcome=1.0, anchors=["a", "b", "c"], token_counts=[2, 3, 1],
             components=[{"info_gain": 0.1, "prm": 0.2}, {"info_gain": -0.1, "prm": 0.0},
                         {"info_gain": 0.0, "prm": 1.0}]),
        traj("g", [0.0], outcome=0.0, anchors=["a"], token_counts=[4],
             components=[{"info_gain": 0.0, "prm": -0.5}]),
    ]
    for name, fn in ESTIMATORS.items():
        adv = fn(batch, CONFIGS[name]())
        assert [a.shape for a in adv] == [(3,), (1,)], name
        assert all(np.isfinite(a).all() for a in adv), name


def test_estimators_import_without_torch():
    code = "import sys, densegym.trainers, densegym.rewards.transforms, densegym.rewards.info_gain; " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_broadcast_to_tokens():
    out = broadcast_to_tokens([np.array([1.0, -2.0]), [np.array([0.1, 0.2]), np.array([0.3])]], [[2, 1], [2, 1]])
    np.testing.assert_allclose(out[0], [1.0, 1.0, -2.0])
    np.testing.assert_allclose(out[1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError):
        broadcast_to_tokens([np.array([1.0])], [[1, 1]])
