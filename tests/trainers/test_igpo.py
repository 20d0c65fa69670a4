"""``igpo`` (docs/algorithms.md section 2(e))."""

from __future__ import annotations

import numpy as np
import pytest

from densegym.rewards.info_gain import information_gain
from densegym.trainers.estimators import GRPOConfig, IGPOConfig, grpo, igpo
from tests.trainers.helpers import traj


def ig_traj(group, gains, f1):
    """A trajectory whose first T-1 turns carry ``info_gain`` and whose last turn is the answer."""
    comps = [{"info_gain": g} for g in gains] + [{"info_gain": 0.0}]
    return traj(group, [0.0] * (len(gains) + 1), outcome=f1, components=comps)


def worked_example():
    return [ig_traj("q", [0.2, -0.05], 1.0), ig_traj("q", [0.1], 0.0)]


def test_worked_example_joint_gamma_1():
    """Section 2(b): tau1 = [1.03975, 1.16972, 1.94953], tau2 = [-1.03975, -0.64984]."""
    adv = igpo(worked_example(), IGPOConfig(norm_mode="joint", gamma=1.0))
    np.testing.assert_allclose(adv[0], [1.03975, 1.16972, 1.94953], atol=1e-5)
    np.testing.assert_allclose(adv[1], [-1.03975, -0.64984], atol=1e-5)


def test_gamma_zero_gives_the_normalised_turn_rewards():
    """Section 2(e)5, with the worked example's r~."""
    adv = igpo(worked_example(), IGPOConfig(gamma=0.0))
    np.testing.assert_allclose(adv[0], [-0.12997, -0.77981, 1.94953], atol=1e-5)
    np.testing.assert_allclose(adv[1], [-0.38991, -0.64984], atol=1e-5)


def test_separate_normalisation_uses_two_pools():
    adv = igpo(worked_example(), IGPOConfig(norm_mode="separate", gamma=0.0))
    ig = np.array([0.2, -0.05, 0.1])
    ig_n = (ig - ig.mean()) / (np.sqrt(ig.var() + 1e-8) + 1e-6)
    f1_n = (np.array([1.0, 0.0]) - 0.5) / (np.sqrt(0.25 + 1e-8) + 1e-6)
    np.testing.assert_allclose(adv[0], [ig_n[0], ig_n[1], f1_n[0]], atol=1e-9)
    np.testing.assert_allclose(adv[1], [ig_n[2], f1_n[1]], atol=1e-9)


def test_telescoping_prob_diff_and_log_prob_diff():
    """Section 2(e)1-2: sum of IG is p_{T-1} - p_0 (each in [-1, 1]) or l_{T-1} - l_0."""
    ell = np.log(np.array([0.05, 0.4, 0.1, 0.9, 0.3]))
    prob = information_gain(ell, "prob_diff")
    assert prob.shape == (4,) and np.all(np.abs(prob) <= 1.0)
    assert prob.sum() == pytest.approx(np.exp(ell[-1]) - np.exp(ell[0]))
    assert information_gain(ell, "log_prob_diff").sum() == pytest.approx(ell[-1] - ell[0])
    assert information_gain([-0.3], "prob_diff").size == 0  # one turn: no IG
    with pytest.raises(ValueError):
        information_gain(ell, "entropy")


def test_single_turn_reduces_to_grpo_on_f1_with_population_std():
    """Section 2(e)3."""
    f1 = [0.9, 0.1, 0.5, 0.0]
    batch = [traj("q", [0.0], outcome=v) for v in f1]
    adv = np.array([a[0] for a in igpo(batch)])
    reference = np.array([a[0] for a in grpo(batch, GRPOConfig(unbiased_std=False))])
    np.testing.assert_allclose(adv, reference, atol=1e-5)
    unbiased = np.array([a[0] for a in grpo(batch)])
    assert not np.allclose(adv, unbiased, atol=1e-3)  # the documented std difference


def test_no_information_leaves_only_f1_with_separate():
    """Section 2(e)4: constant belief -> IG = 0 (1e-10 in the pool, or excluded from it); with separate pools
    the advantages come from F1 alone."""
    ell = [np.full(3, -1.2), np.full(2, -1.2), np.full(1, -1.2)]
    batch = [traj("q", [0.0] * len(e), outcome=f) for e, f in zip(ell, [1.0, 0.0, 0.5])]
    f1 = np.array([1.0, 0.0, 0.5])
    f1_n = (f1 - f1.mean()) / (np.sqrt(f1.var() + 1e-8) + 1e-6)
    for exclude in (False, True):
        adv = igpo(batch, IGPOConfig(norm_mode="separate", exclude_zero_info_gain=exclude), belief_log_probs=ell)
        for a, v in zip(adv, f1_n):
            np.testing.assert_allclose(a, np.full(a.size, v))  # gamma = 1: every turn carries the F1 term


def test_zero_info_gain_is_excluded_from_the_joint_pool_on_request():
    with_zero = igpo([ig_traj("q", [0.0, 0.3], 1.0), ig_traj("q", [0.1], 0.0)],
                     IGPOConfig(gamma=0.0, exclude_zero_info_gain=True))
    pool = np.array([0.3, 1.0, 0.1, 0.0])
    mu, sigma = pool.mean(), np.sqrt(pool.var() + 1e-8)
    np.testing.assert_allclose(with_zero[0], [0.0, (0.3 - mu) / (sigma + 1e-6), (1.0 - mu) / (sigma + 1e-6)])
    kept = igpo([ig_traj("q", [0.0, 0.3], 1.0), ig_traj("q", [0.1], 0.0)], IGPOConfig(gamma=0.0))  # the default
    pool = np.array([1e-10, 0.3, 1.0, 0.1, 0.0])  # the released code: a zero gain stays in the pool as 1e-10
    mu, sigma = pool.mean(), np.sqrt(pool.var() + 1e-8)
    np.testing.assert_allclose(kept[0], (pool[:3] - mu) / (sigma + 1e-6))


def test_belief_log_probs_path_matches_components_path():
    ell = [np.log([0.1, 0.3, 0.25]), np.log([0.2, 0.6])]
    batch = [traj("q", [0.0] * 3, outcome=1.0), traj("q", [0.0] * 2, outcome=0.0)]
    from_probs = igpo(batch, IGPOConfig(gamma=0.9), belief_log_probs=ell)
    gains = [information_gain(e, "prob_diff") for e in ell]
    via_comps = igpo([ig_traj("q", gains[0], 1.0), ig_traj("q", gains[1], 0.0)], IGPOConfig(gamma=0.9))
    for a, b in zip(from_probs, via_comps):
        np.testing.assert_allclose(a, b)
    with pytest.raises(ValueError, match="belief log-probs"):
        igpo(batch, belief_log_probs=[ell[0][:2], ell[1]])


def test_a_normalised_zero_does_not_merge_turns():
    """Section 2 implementation note: turn boundaries are explicit; a r~ of exactly 0 keeps its own turn."""
    batch = [ig_traj("q", [0.5], 1.0), ig_traj("q", [0.5], 0.0)]
    adv = igpo(batch, IGPOConfig(norm_mode="separate", gamma=0.5))
    # the IG pool {0.5, 0.5} normalises to exactly 0; each first turn still gets gamma times its answer turn
    np.testing.assert_allclose([a[0] for a in adv], [0.5 * adv[0][1], 0.5 * adv[1][1]])
    assert [a.size for a in adv] == [2, 2]
