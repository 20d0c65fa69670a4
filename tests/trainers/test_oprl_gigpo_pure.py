"""``oprl`` (section 1(e)), ``gigpo`` (section 6(e)) and ``pure`` (section 7(e)) estimators."""

from __future__ import annotations

import numpy as np
import pytest

from densegym.trainers.estimators import (
    GiGPOConfig,
    GRPOConfig,
    OPRLConfig,
    PUREConfig,
    gigpo,
    grpo,
    oprl,
    oprl_pairs,
    pure,
    rloo,
)
from densegym.trainers.estimators.oprl import batch_norm
from densegym.trainers.estimators.pure import min_form_rewards
from tests.trainers.helpers import traj

# ---- OPRL / iStar ----------------------------------------------------------------------------------------


def oprl_batch():
    return [
        traj("a", [0.0] * 3, outcome=1.0),
        traj("a", [0.0] * 2, outcome=0.0),
        traj("a", [0.0] * 4, outcome=1.0),
        traj("b", [0.0] * 2, outcome=0.3, success=True),
        traj("b", [0.0] * 1, outcome=0.0),
    ]


def test_oprl_equal_step_rewards_reduce_to_rloo_and_grpo():
    """Section 1(e)2: equal step rewards give A^S = 0, A = A^E: RLOO for istar_rloo, GRPO for istar_grpo."""
    batch = oprl_batch()
    for value in (0.0, 0.7):
        steps = [np.full(len(t.turns), value) for t in batch]
        for a, b in zip(oprl(batch, step_rewards=steps), rloo(batch)):
            np.testing.assert_allclose(a, b, atol=1e-12)
        grpo_variant = oprl(batch, OPRLConfig(variant="grpo"), step_rewards=steps)
        for a, b in zip(grpo_variant, grpo(batch, GRPOConfig(norm_adv_by_std=False))):
            np.testing.assert_allclose(a, b, atol=1e-12)
        std_variant = oprl(batch, OPRLConfig(variant="grpo", grpo_mode="mean_std_norm"), step_rewards=steps)
        for a, b in zip(std_variant, grpo(batch)):
            np.testing.assert_allclose(a, b, atol=1e-12)


def test_oprl_rloo_formula_and_batch_norm():
    """A^E = n/(n-1)(R - mean), A^S = n/(n-1)(r~ - b_G) over all steps of the group, omega = 0.5."""
    batch = [traj("a", [0.0, 0.0], outcome=1.0), traj("a", [0.0], outcome=0.0)]
    steps = [np.array([0.02, -0.04]), np.array([0.01])]
    adv = oprl(batch, OPRLConfig(step_advantage_w=0.5), step_rewards=steps)
    r = [s / (0.04 + 1e-6) for s in steps]
    b = np.concatenate(r).mean()
    np.testing.assert_allclose(adv[0], 1.0 + 0.5 * 2 * (r[0] - b))
    np.testing.assert_allclose(adv[1], -1.0 + 0.5 * 2 * (r[1] - b))
    first_row = oprl(batch, OPRLConfig(step_advantage_w=0.5, step_baseline_scope="first_row_per_traj"),
                     step_rewards=steps)
    b_code = (r[0][0] + r[1][0]) / 2
    np.testing.assert_allclose(first_row[0], 1.0 + 0.5 * 2 * (r[0] - b_code))
    only = oprl(batch, OPRLConfig(use_process_only=True), step_rewards=steps)
    np.testing.assert_allclose(only[1], 2 * (r[1] - b))


def test_oprl_batch_norm_bounds_and_group_of_one():
    """Section 1(e)6: max |r~| <= 1; n = 1 gives A^E = R and A^S = r~."""
    rng = np.random.default_rng(1)
    normed = batch_norm([rng.normal(size=n) * 7 for n in (3, 5, 2)])
    assert max(np.abs(r).max() for r in normed) <= 1.0
    adv = oprl([traj("solo", [0.0, 0.0], outcome=0.4)], step_rewards=[np.array([0.5, -1.0])])
    np.testing.assert_allclose(adv[0], 0.4 + np.array([0.5, -1.0]) / (1.0 + 1e-6))


def test_oprl_reads_the_prm_component_when_no_step_rewards_are_given():
    batch = [traj("a", [0.0], outcome=1.0, components=[{"prm": 0.3}]),
             traj("a", [0.0], outcome=0.0, components=[{"prm": -0.1}])]
    explicit = oprl(batch, step_rewards=[np.array([0.3]), np.array([-0.1])])
    for a, b in zip(oprl(batch), explicit):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="step rewards"):
        oprl(batch, step_rewards=[np.array([0.3, 0.1]), np.array([-0.1])])


def test_oprl_reinforce_pp_whitens_each_term():
    batch = oprl_batch()
    steps = [np.linspace(-1, 1, len(t.turns)) for t in batch]
    adv = oprl(batch, OPRLConfig(variant="reinforce_pp", use_process_only=True), step_rewards=steps)
    flat = np.concatenate(adv)
    assert abs(flat.mean()) < 1e-9 and flat.std(ddof=1) == pytest.approx(1.0, abs=1e-5)


def test_oprl_pairs_are_every_success_failure_pair_within_groups():
    """Section 1(e)3: s successes and f failures give s*f pairs; a one-sided group gives none."""
    batch = oprl_batch() + [traj("c", [0.0], outcome=1.0), traj("c", [0.0], outcome=1.0)]
    pairs = oprl_pairs(batch)
    assert sorted(pairs) == [(0, 1), (2, 1), (3, 4)]
    big = [traj("g", [0.0], outcome=float(i < 3)) for i in range(7)]
    assert len(oprl_pairs(big)) == 3 * 4
    assert oprl_pairs([traj("g", [0.0], outcome=0.0)] * 3) == []


# ---- GiGPO -----------------------------------------------------------------------------------------------


def gigpo_example(group="g"):
    """Section 6(e)3: tau1 s0 -> s1 -> s2 succeeds (R = 1), tau2 s0 -> s1 -> s3 fails; reward only at the end."""
    return [
        traj(group, [0.0, 0.0, 1.0], outcome=1.0, anchors=["s0", "s1", "s2"]),
        traj(group, [0.0, 0.0, 0.0], outcome=0.0, anchors=["s0", "s1", "s3"]),
    ]


def test_gigpo_worked_example():
    adv = gigpo(gigpo_example(), GiGPOConfig(gamma=0.95))
    np.testing.assert_allclose(adv[0], [0.95125, 0.975, 0.5], atol=1e-5)
    np.testing.assert_allclose(adv[1], [-0.95125, -0.975, -0.5], atol=1e-5)
    step_only = gigpo(gigpo_example(), GiGPOConfig(gamma=0.95, step_advantage_w=1.0))[0] - 0.5  # minus A^E
    np.testing.assert_allclose(step_only, [0.45125, 0.475, 0.0], atol=1e-5)


def test_gigpo_without_repeated_states_is_grpo():
    """Section 6(e)1."""
    rng = np.random.default_rng(2)
    batch = [traj("g", rng.normal(size=3), outcome=float(o), anchors=[f"{i}-{t}" for t in range(3)])
             for i, o in enumerate([1.0, 0.0, 0.5, 1.0])]
    for a, b in zip(gigpo(batch), grpo(batch, GRPOConfig(norm_adv_by_std=False))):
        np.testing.assert_allclose(a, b)
    for a, b in zip(gigpo(batch, GiGPOConfig(mode="mean_std_norm")), grpo(batch)):
        np.testing.assert_allclose(a, b)
    empty = [traj("g", [1.0, 0.0], outcome=o) for o in (1.0, 0.0)]  # no anchors: never grouped
    for a, b in zip(gigpo(empty), grpo(empty, GRPOConfig(norm_adv_by_std=False))):
        np.testing.assert_allclose(a, b)


def test_gigpo_zero_sums():
    """Section 6(e)2: sum A^S = 0 per anchor group (mean_norm); sum over rows of A^E = 0 with per-row weighting."""
    batch = [
        traj("g", [0.2, 0.0, 1.0], outcome=1.0, anchors=["x", "y", "z"]),
        traj("g", [0.0, 0.5], outcome=0.0, anchors=["x", "z"]),
        traj("g", [1.0], outcome=0.5, anchors=["y"]),
    ]
    config = GiGPOConfig(step_advantage_w=1.0, episode_stat_weighting="per_step_row")
    episode_only = gigpo(batch, GiGPOConfig(step_advantage_w=0.0, episode_stat_weighting="per_step_row"))
    assert abs(np.concatenate(episode_only).sum()) < 1e-12
    step = [a - e for a, e in zip(gigpo(batch, config), episode_only)]
    by_anchor = {}
    for t_, s in zip(batch, step):
        for turn, v in zip(t_.turns, s):
            by_anchor[turn.anchor] = by_anchor.get(turn.anchor, 0.0) + v
    assert all(abs(v) < 1e-12 for v in by_anchor.values()) and any(abs(v) > 0.1 for v in np.concatenate(step))
    per_traj = gigpo(batch, GiGPOConfig(step_advantage_w=0.0))
    assert abs(sum(a[0] for a in per_traj)) < 1e-12  # per-trajectory weighting: zero-sum over trajectories


def test_gigpo_anchor_groups_stay_inside_task_groups():
    """Section 6(e)4: the same anchors under another uid are not grouped."""
    split = gigpo(gigpo_example("a")[:1] + gigpo_example("b")[1:])
    np.testing.assert_allclose(split[0], [1.0, 1.0, 1.0])  # groups of one: A^E = R, A^S = 0
    np.testing.assert_allclose(split[1], [0.0, 0.0, 0.0])


def test_gigpo_similarity_grouping():
    batch = [traj("g", [1.0], outcome=1.0, anchors=["board ##..@..## row"]),
             traj("g", [0.0], outcome=0.0, anchors=["board ##..@..## rox"])]
    exact = gigpo(batch, GiGPOConfig(step_advantage_w=1.0))
    fuzzy = gigpo(batch, GiGPOConfig(enable_similarity=True, similarity_threshold=0.9))
    np.testing.assert_allclose([exact[0][0], exact[1][0]], [0.5, -0.5])
    np.testing.assert_allclose([fuzzy[0][0], fuzzy[1][0]], [1.0, -1.0])


# ---- PURE ------------------------------------------------------------------------------------------------


def test_pure_min_form_numeric_example():
    """Section 7(e)2: r = [0.9, -0.5, 0.8], T = 0.1."""
    r_star = min_form_rewards([0.9, -0.5, 0.8], 0.1)
    np.testing.assert_allclose(r_star, [7.48e-7, -0.4999985, 1.81e-6], rtol=2e-3, atol=1e-9)
    returns = np.cumsum(r_star[::-1])[::-1]
    assert returns[0] == pytest.approx(-0.4999959, abs=1e-6)
    assert returns[2] == pytest.approx(1.8e-6, abs=1e-7)


def test_pure_constant_rewards_and_bounds():
    """Section 7(e)1 and 3: constant c gives uniform weights and sum c; otherwise min r <= sum r* <= mean r."""
    np.testing.assert_allclose(min_form_rewards([0.3] * 4, 0.1), [0.075] * 4)
    rng = np.random.default_rng(3)
    for _ in range(50):
        r = rng.uniform(-1, 1, size=rng.integers(1, 8))
        total = min_form_rewards(r, float(rng.uniform(0.01, 5.0))).sum()
        assert r.min() - 1e-12 <= total <= r.mean() + 1e-12
    np.testing.assert_allclose(min_form_rewards([0.2, -0.4], 0.1, weighted=False), [0.1, -0.2])


def test_pure_token_baseline_sums_to_zero_with_equal_rates():
    """Section 7(e)4: equal reward per token across samples -> each sample's baselined rewards sum to 0."""
    counts = [[2, 2], [1, 3, 4], [4]]
    rate = 0.05
    batch = []
    for c in counts:  # constant turn rewards c_t; weights uniform, r* = c/K; choose c so that sum r* / len = rate
        total = rate * sum(c)
        batch.append(traj("g", [total] * len(c), outcome=1.0, token_counts=c))
    adv = pure(batch, PUREConfig(reward_mode="PRM", released_token_count=False))
    for a in adv:
        assert a[0] == pytest.approx(0.0, abs=1e-12)  # the return from the first turn is the baselined sum
    released = pure(batch, PUREConfig(reward_mode="PRM"))  # the multiplier leaves each turn's terminator out
    for a, c in zip(released, counts):
        assert a[0] == pytest.approx(rate * len(c), abs=1e-12)


def test_pure_step_baseline_verifiable_reward_and_returns():
    batch = [traj("g", [0.5, 0.5], success=True), traj("g", [-0.2], success=False)]
    adv = pure(batch, PUREConfig(reward_baseline="step"))
    # r* = [0.25, 0.25] and [-0.2]; step baseline = the other sample's sum r* / its steps
    b1, b2 = -0.2, 0.5 / 2
    vr1, vr2 = 0.0 - (-1.0), -1.0 - 0.0
    np.testing.assert_allclose(adv[0], [(0.25 - b1) * 2 + vr1, (0.25 - b1) + vr1])
    np.testing.assert_allclose(adv[1], [(-0.2 - b2) + vr2])
    vr_only = pure(batch, PUREConfig(reward_mode="VR"))
    np.testing.assert_allclose(vr_only[0], [1.0, 1.0])
    with pytest.raises(ValueError, match="action_ids"):
        pure(batch)  # the default token baseline needs token counts
    with_counts = pure(batch, PUREConfig(reward_mode="PRM", released_token_count=False), token_counts=[[1, 1], [2]])
    np.testing.assert_allclose(with_counts[1], [-0.2 - 2 * (0.5 / 2)])
    released = pure(batch, PUREConfig(reward_mode="PRM"), token_counts=[[1, 1], [2]])
    np.testing.assert_allclose(released[1], [-0.2 - 1 * (0.5 / 2)])  # 2 tokens, one of them the terminator


def test_pure_with_constant_turn_rewards_is_rloo_on_success():
    """Section 10(e)5 for PURE: equal constant turn rewards cancel in the baseline, leaving the verifiable RLOO."""
    batch = [traj("g", [0.4] * 3, success=s) for s in (True, False, False, True)]
    adv = pure(batch, PUREConfig(reward_baseline="step"))
    success_batch = [traj("g", [0.0] * 3, outcome=float(s)) for s in (True, False, False, True)]
    for a, b in zip(adv, rloo(success_batch)):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_oprl_unknown_switches_raise():
    batch = [traj("a", [0.0], outcome=1.0)]
    for bad in (OPRLConfig(variant="ppo"), OPRLConfig(step_baseline_scope="last"), OPRLConfig(reward_norm="z")):
        with pytest.raises(ValueError):
            oprl(batch, bad, step_rewards=[np.zeros(1)])
