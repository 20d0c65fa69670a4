"""Parity with the papers' released code (issue 16, item 5): one test vector per difference found there.

Each released number below comes from running the released implementation (IGPO's February 2026 release, PURE,
iStar, verl-agent's GiGPO) on the same inputs; they are given to 3 decimals, hence ``atol=1e-3``. The old
densegym behaviour stays reachable by a switch, and its numbers are checked too.
"""

from __future__ import annotations

import difflib

import numpy as np

from densegym.trainers.estimators import GiGPOConfig, IGPOConfig, OPRLConfig, PUREConfig, gigpo, igpo, oprl, pure
from densegym.trainers.estimators.gigpo import anchor_groups
from tests.trainers.helpers import traj

ATOL = 1e-3


def assert_advantages(actual, expected):
    assert [a.size for a in actual] == [len(e) for e in expected]
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, atol=ATOL)


# ---- 1. IGPO: an information gain of exactly 0 stays in the pool (as 1e-10) -------------------------------


def igpo_example():
    """Joint pool, gamma 1: tau1 has F1 0 and one turn; tau2 has IG [-0.056256, 0, 0.071205] on its first three
    turns and F1 0.6031 on its fourth (the answer turn carries F1)."""
    gains = [-0.056256, 0.0, 0.071205]
    comps = [{"info_gain": g} for g in gains] + [{"info_gain": 0.0}]
    return [traj("q", [0.0], outcome=0.0, components=[{"info_gain": 0.0}]),
            traj("q", [0.0] * 4, outcome=0.6031, components=comps)]


def test_igpo_zero_info_gain_matches_the_released_reward_function():
    adv = igpo(igpo_example(), IGPOConfig(norm_mode="joint", gamma=1.0))
    assert_advantages(adv, [[-0.508], [0.508, 1.248, 1.757, 1.972]])


def test_igpo_exclude_zero_info_gain_keeps_the_old_behaviour():
    adv = igpo(igpo_example(), IGPOConfig(norm_mode="joint", gamma=1.0, exclude_zero_info_gain=True))
    assert_advantages(adv, [[-0.588], [0.588, 1.389, 1.389, 1.706]])


# ---- 2. PURE token baseline: the terminator counts in the rate, not in the multiplier -------------------------


def pure_example():
    """T = 0.1, PRMVR with coefficient 1: tau1 r = [-0.744], unsolved, 1 content token; tau2 r = [0.687, 0.716],
    solved, 1 and 3 content tokens. Each turn also has its end-of-turn token (``action_ids`` hold it)."""
    return [traj("q", [-0.744], outcome=0.0, success=False, token_counts=[1 + 1]),
            traj("q", [0.687, 0.716], outcome=1.0, success=True, token_counts=[1 + 1, 3 + 1])]


def test_pure_token_baseline_matches_the_released_code():
    assert_advantages(pure(pure_example()), [[-1.860], [3.187, 2.422]])


def test_pure_same_count_in_rate_and_multiplier_keeps_the_old_behaviour():
    adv = pure(pure_example(), PUREConfig(released_token_count=False))
    assert_advantages(adv, [[-1.977], [3.931, 2.794]])
    # the two differ by b_i per remaining turn: b_1 = (sum r*_2) / 6 tokens, b_2 = -0.744 / 2 tokens
    released = pure(pure_example())
    r_star_2 = 0.699  # sum of tau2's min-form rewards at T = 0.1 (3 decimals)
    np.testing.assert_allclose(released[0] - adv[0], [r_star_2 / 6], atol=ATOL)
    np.testing.assert_allclose(released[1] - adv[1], [2 * -0.744 / 2, -0.744 / 2], atol=ATOL)


# ---- 3. OPRL / iStar reinforce_pp: whitening over every action token -----------------------------------------


def oprl_example():
    """One group: prm [-0.183, -0.432] with R 0.862, prm [0.357] with R 0.963; 2 tokens per turn."""
    batch = [traj("q", [0.0, 0.0], outcome=0.862, token_counts=[2, 2]),
             traj("q", [0.0], outcome=0.963, token_counts=[2])]
    return batch, [np.array([-0.183, -0.432]), np.array([0.357])]


def test_oprl_reinforce_pp_matches_the_released_whitening():
    batch, steps = oprl_example()
    adv = oprl(batch, OPRLConfig(variant="reinforce_pp"), step_rewards=steps)
    assert_advantages(adv, [[-0.915, -1.604], [2.519]])


def test_oprl_reinforce_pp_per_term_whitening_keeps_the_old_behaviour():
    batch, steps = oprl_example()
    adv = oprl(batch, OPRLConfig(variant="reinforce_pp", whiten_over_tokens=False), step_rewards=steps)
    assert_advantages(adv, [[-0.948, -1.565], [1.806]])


def test_oprl_reinforce_pp_terms_are_white_over_tokens():
    """Each whitened term has token-weighted mean 0 and unbiased variance ~1 (var + 1e-8) over the tokens."""
    batch = [traj("a", [0.0] * 2, outcome=1.0, token_counts=[3, 1]), traj("a", [0.0], outcome=0.0, token_counts=[5]),
             traj("b", [0.0] * 3, outcome=0.4, token_counts=[2, 2, 7]), traj("b", [0.0], outcome=0.9,
                                                                              token_counts=[1])]
    steps = [np.array([0.3, -0.2]), np.array([0.1]), np.array([0.5, 0.0, -0.4]), np.array([0.2])]
    counts = np.concatenate([[len(t.action_ids) for t in tr.turns] for tr in batch])
    for process_only, zero_steps in ((True, False), (False, True)):
        config = OPRLConfig(variant="reinforce_pp", use_process_only=process_only)
        rewards = [np.zeros_like(s) for s in steps] if zero_steps else steps  # zero steps leave the episode term
        tokens = np.repeat(np.concatenate(oprl(batch, config, step_rewards=rewards)), counts)
        assert abs(tokens.mean()) < 1e-9
        np.testing.assert_allclose(tokens.var(ddof=1), 1.0, atol=1e-6)


# ---- 4. GiGPO similarity: ratio(new anchor, existing representative) -----------------------------------------


def test_gigpo_similarity_compares_the_new_anchor_with_the_representative():
    existing, new = ".@.@", "@..@"
    forward = difflib.SequenceMatcher(None, new, existing).ratio()
    backward = difflib.SequenceMatcher(None, existing, new).ratio()
    assert (forward, backward) == (0.75, 0.5)  # difflib's ratio is not symmetric
    batch = [traj("g", [1.0], outcome=1.0, anchors=[existing]), traj("g", [0.0], outcome=0.0, anchors=[new])]
    config = GiGPOConfig(enable_similarity=True, similarity_threshold=0.7)
    # released order: ratio(new, existing) = 0.75 >= 0.7, so the two turns form one anchor group
    assert anchor_groups(batch, [0, 1], config) == [[(0, 0), (1, 0)]]
    adv = gigpo(batch, config)
    np.testing.assert_allclose([adv[0][0], adv[1][0]], [1.0, -1.0])  # A^E +-0.5 and A^S +-0.5
    # the other order (0.5) would have kept them apart; a threshold between 0.5 and 0.75 separates the two
    apart = GiGPOConfig(enable_similarity=True, similarity_threshold=0.8)
    assert anchor_groups(batch, [0, 1], apart) == [[(0, 0)], [(1, 0)]]
