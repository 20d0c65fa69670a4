"""``turn``: VPR state groups and per-turn normalisation (docs/algorithms.md section 4(b), 4(e)); the length bias
of per-turn-index normalisation (docs/algorithms.md section 4, "Length bias")."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from densegym.trainers.estimators import TurnConfig, turn, turn_with_mask
from densegym.trainers.estimators.turn import commit_index
from tests.trainers.helpers import traj


def candidates(group, state, rewards, outcome=0.0):
    """One-turn trajectories for K candidates sampled from one state."""
    return [traj(group, [r], outcome=outcome, infos=[{"state_group": state}]) for r in rewards]


def flat(arrays):
    return np.concatenate(arrays)


def test_equal_reward_and_singleton_state_groups_are_masked():
    """Section 4(e)1: [2, 2, 2, 2] and a group of one get M = 0."""
    batch = candidates("g", "s0", [2, 2, 2, 2]) + candidates("g", "s1", [1.0]) + candidates("g", "s2", [2, 0])
    adv, mask = turn_with_mask(batch)
    np.testing.assert_array_equal(flat(mask), [0, 0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(flat(adv)[:5], 0.0)


def test_state_group_centering_then_batch_whitening():
    """Section 4(e)2: [2, 0, 0, 2] centres to [1, -1, -1, 1]; after batch whitening mean 0, std_pop 1."""
    batch = candidates("g", "s0", [2, 0, 0, 2]) + candidates("g", "s1", [1.0, 0.5, -2.0, 0.5])
    adv, mask = turn_with_mask(batch)
    a = flat(adv)
    c = np.array([1, -1, -1, 1, 1.0, 0.5, -2.0, 0.5])  # both groups centred (the second has mean 0)
    np.testing.assert_allclose(a, (c - c.mean()) / (c.std() + 1e-8), atol=1e-9)
    assert abs(a.mean()) < 1e-9 and abs(a.std() - 1.0) < 1e-6
    assert flat(mask).all()


def test_group_whiten_mode():
    adv = turn(candidates("g", "s0", [2, 0, 0, 2]), TurnConfig(state_group_advantage_mode="group_whiten"))
    np.testing.assert_allclose(flat(adv), [1, -1, -1, 1], atol=1e-6)


def test_state_groups_do_not_cross_task_groups():
    batch = candidates("a", "s", [1.0]) + candidates("b", "s", [0.0])
    _, mask = turn_with_mask(batch)
    np.testing.assert_array_equal(flat(mask), [0, 0])


def test_kappa_zero_ignores_success_and_kappa_adds_at_terminal():
    """Section 4(e)3: with kappa = 0 advantages do not depend on terminal success."""
    rewards = [[2.0, 0.0, 2.0], [0.0, 2.0], [2.0, -2.0, 0.0, 2.0]]
    won = [traj("g", r, outcome=1.0, success=True) for r in rewards]
    lost = [traj("g", r, outcome=0.0, success=False) for r in rewards]
    for a, b in zip(turn(won), turn(lost)):
        np.testing.assert_array_equal(a, b)
    with_kappa = turn(won, TurnConfig(outcome_reward_scale=1.0, normalization="batch"))
    plain = turn([traj("g", r[:-1] + [r[-1] + 1.0]) for r in rewards], TurnConfig(normalization="batch"))
    for a, b in zip(with_kappa, plain):
        np.testing.assert_allclose(a, b)


def test_group_normalisation_pools_all_turns_of_the_task_group():
    batch = [traj("g", [2.0, 0.0]), traj("g", [0.0, 0.0, 2.0]), traj("h", [5.0])]
    adv = turn(batch)
    pool = np.array([2.0, 0, 0, 0, 2])
    expected = (pool - pool.mean()) / (pool.std() + 1e-8)
    np.testing.assert_allclose(flat(adv[:2]), expected)
    np.testing.assert_allclose(adv[2], [0.0])


def test_turn_index_normalisation_and_small_index_fallback():
    """VPR per-turn mode: statistics per turn index over the batch; fewer than min_group_size rows -> batch."""
    rows = [[1.0, 4.0], [0.0, 2.0], [2.0, 0.0], [1.0, 2.0]]
    batch = [traj(str(i), r) for i, r in enumerate(rows)]  # one task each: lengths may differ freely
    adv = turn(batch, TurnConfig(normalization="turn_index"))
    r = np.array(rows)
    expected = (r - r.mean(axis=0)) / (r.std(axis=0) + 1e-8)
    np.testing.assert_allclose(np.array(adv), expected)
    few = turn(batch[:3], TurnConfig(normalization="turn_index"))  # 3 < 4 rows at each index: batch stats
    pool = r[:3].ravel()
    np.testing.assert_allclose(np.array(few), (r[:3] - pool.mean()) / (pool.std() + 1e-8))


def wandering_group():
    """Four short episodes that solve the task in two turns, four that wander for six turns: the policy chose
    the lengths. Turn rewards are progress (1) or nothing (0)."""
    short = [traj("g", [1.0, 1.0], outcome=1.0) for _ in range(4)]
    long = [traj("g", [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], outcome=1.0) for _ in range(4)]
    return short + long


def test_turn_index_with_unequal_lengths_hides_the_length_bias_when_allowed():
    """Documented failure mode: per index, the wandering turns 2..4 are compared only with each other (all 0),
    so they get advantage exactly 0, and the extra turns of long episodes look no worse than anything else."""
    adv = turn(wandering_group(), TurnConfig(normalization="turn_index", unequal_lengths="allow"))
    for a in adv[4:]:
        np.testing.assert_array_equal(a[2:5], 0.0)


def test_turn_index_with_unequal_lengths_falls_back_to_group_pooling():
    batch = wandering_group()
    with pytest.warns(UserWarning, match="length bias"):
        adv = turn(batch, TurnConfig(normalization="turn_index"))
    grouped = turn(batch, TurnConfig(normalization="group"))
    for a, b in zip(adv, grouped):
        np.testing.assert_array_equal(a, b)
    assert all((a[2:5] < 0).all() for a in adv[4:])  # the wandering turns are now penalised
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        turn(batch[:4], TurnConfig(normalization="turn_index"))  # equal lengths: no warning


def test_unknown_options_raise():
    with pytest.raises(ValueError, match="normalization"):
        turn([traj("g", [1.0])], TurnConfig(normalization="index"))
    with pytest.raises(ValueError, match="mode"):
        turn([traj("g", [1.0])], TurnConfig(mode="tree"))


def test_commit_rule_takes_a_maximal_candidate_uniformly():
    """Section 4(e)6: the committed action always has the maximal reward among the K candidates."""
    rng = np.random.default_rng(0)
    picks = [commit_index([2.0, -2.0, 2.0, 0.0], rng) for _ in range(200)]
    assert set(picks) == {0, 2}
    assert commit_index([0.0, 1.0, 0.5], rng) == 1
    with pytest.raises(ValueError):
        commit_index([], rng)
