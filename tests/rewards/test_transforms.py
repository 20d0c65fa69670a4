"""Trajectory transforms: G-RA gated accumulation (docs/algorithms.md section 3(e)), PURE min-form, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from densegym.rewards.transforms import (
    TRANSFORMS,
    GatedConfig,
    MinFormConfig,
    NormalizeConfig,
    gated_accumulation,
    min_form,
    normalize_component,
)
from densegym.trainers.estimators import GRPOConfig, TurnConfig, grpo, turn
from densegym.trainers.estimators.common import trajectory_score
from tests.trainers.helpers import traj

# SWE-style outcome levels: no submit < empty patch < patch fails tests < patch passes tests
NO_SUBMIT, EMPTY, FAILS, PASSES = 0.0, 1.0, 2.0, 3.0


def swe_batch():
    fmt = lambda values: [{"format": v, "scaffold": 0.5 * v} for v in values]  # noqa: E731
    return [
        traj("t", [0.0] * 3, outcome=NO_SUBMIT, components=fmt([1.0, 1.0, 1.0])),
        traj("t", [0.0] * 2, outcome=EMPTY, components=fmt([1.0, -1.0])),
        traj("t", [0.0] * 2, outcome=FAILS, components=fmt([0.5, 1.0])),
        traj("t", [0.0] * 1, outcome=PASSES, components=fmt([1.0])),
    ]


def gra_returns(batch, delta, op="ge"):
    gated_accumulation(batch, GatedConfig(channels=("outcome", "format"), thresholds=(delta,), gate_op=op))
    return np.array([trajectory_score(t, ("outcome", "gated")) for t in batch])


def test_threshold_above_max_outcome_is_outcome_only():
    """Section 3(e)1."""
    batch = swe_batch()
    np.testing.assert_array_equal(gra_returns(batch, PASSES + 0.1), [t.outcome for t in batch])
    assert all(turn.components["gated"] == 0.0 for t in batch for turn in t.turns)


def test_threshold_at_or_below_min_outcome_is_direct_accumulation():
    """Section 3(e)2: D-RA, the plain sum."""
    batch = swe_batch()
    d_ra = [t.outcome + sum(turn.components["format"] for turn in t.turns) for t in batch]
    np.testing.assert_array_equal(gra_returns(batch, NO_SUBMIT), d_ra)


def test_counted_trajectories_shrink_as_the_threshold_grows():
    """Section 3(e)3."""
    counted = []
    for delta in (NO_SUBMIT, EMPTY, FAILS, PASSES, PASSES + 1):
        batch = swe_batch()
        gated_accumulation(batch, GatedConfig(channels=("outcome", "format"), thresholds=(delta,)))
        counted.append({i for i, t in enumerate(batch) if any(turn.components["gated"] for turn in t.turns)})
    assert counted[0] == {0, 1, 2, 3} and counted[-1] == set()
    assert all(later <= earlier for earlier, later in zip(counted, counted[1:]))


def test_ge_and_gt_differ_at_the_threshold():
    batch = swe_batch()
    ge = gra_returns(batch, FAILS, "ge")
    gt = gra_returns(swe_batch(), FAILS, "gt")
    assert ge[2] == FAILS + 1.5 and gt[2] == FAILS
    with pytest.raises(ValueError, match="gate_op"):
        gra_returns(swe_batch(), FAILS, "le")


def test_k_level_gate_zeroes_every_lower_channel():
    """Section 3(e)4: a top channel below threshold masks all lower channels whatever their values."""
    config = GatedConfig(channels=("outcome", "format", "scaffold"), thresholds=(EMPTY + 0.5, 1.0))
    batch = swe_batch()
    gated = gated_accumulation(batch, config)
    np.testing.assert_array_equal(gated[0], 0.0)  # below the outcome gate: format and scaffold both dropped
    np.testing.assert_array_equal(gated[1], 0.0)
    np.testing.assert_allclose(gated[2], [0.5 + 0.25, 1.0 + 0.5])  # format sum 1.5 >= 1.0: scaffold counts
    low_format = [traj("t", [0.0, 0.0], outcome=PASSES, components=[{"format": 0.2, "scaffold": 9.0}] * 2)]
    np.testing.assert_allclose(gated_accumulation(low_format, config)[0], [0.2, 0.2])  # format sum 0.4 < 1.0
    with pytest.raises(ValueError, match="threshold"):
        gated_accumulation(batch, GatedConfig(channels=("outcome", "format", "scaffold"), thresholds=(1.0,)))


def test_no_leakage_without_submit():
    """Section 3(e)5: a trajectory without submit has the same return however many good-format steps it took."""
    returns = []
    for n in (1, 3, 10):
        batch = [traj("t", [0.0] * n, outcome=NO_SUBMIT, components=[{"format": 1.0}] * n)]
        returns.append(gra_returns(batch, EMPTY + 0.5)[0])
    assert returns == [NO_SUBMIT] * 3


def test_gated_composes_with_estimators():
    batch = swe_batch()
    gated_accumulation(batch, GatedConfig(channels=("outcome", "format"), thresholds=(PASSES + 1,)))
    for a, b in zip(grpo(batch, GRPOConfig(score=("outcome", "gated"))), grpo(batch)):
        np.testing.assert_allclose(a, b)
    adv = turn(batch, TurnConfig(reward="gated"))
    assert all(np.all(a == 0.0) for a in adv)  # every gated turn reward is 0: nothing to prefer
    gated_accumulation(batch, GatedConfig(channels=("outcome", "format"), thresholds=(NO_SUBMIT,)))
    assert not all(np.all(a == 0.0) for a in turn(batch, TurnConfig(reward="gated")))


def test_min_form_transform_writes_its_component():
    batch = [traj("g", [0.9, -0.5, 0.8]), traj("g", [0.2])]
    out = min_form(batch, MinFormConfig(temperature=0.1))
    assert [turn.components["min_form"] for turn in batch[1].turns] == [pytest.approx(0.2)]
    assert sum(turn.components["min_form"] for turn in batch[0].turns) == pytest.approx(-0.4999959, abs=1e-6)
    np.testing.assert_allclose(out[0], [turn.components["min_form"] for turn in batch[0].turns])


def test_normalize_component_scopes():
    batch = [traj("g", [2.0, -4.0]), traj("g", [1.0]), traj("h", [3.0, 3.0])]
    normalize_component(batch, NormalizeConfig(scope="batch_max_abs"))
    assert max(abs(turn.components["reward_norm"]) for t in batch for turn in t.turns) <= 1.0
    assert batch[0].turns[1].components["reward_norm"] == pytest.approx(-1.0, abs=1e-6)
    z = normalize_component(batch, NormalizeConfig(scope="group_zscore", out="z"))
    pool = np.array([2.0, -4.0, 1.0])
    np.testing.assert_allclose(np.concatenate(z[:2]), (pool - pool.mean()) / (pool.std() + 1e-6))
    np.testing.assert_allclose(z[2], [0.0, 0.0])
    assert set(TRANSFORMS) == {"gated", "min_form", "normalize"}
