"""Lanser-CLI's reward functional (docs/algorithms.md section 5(e)), G-RA gating (the ``gated`` transform) and
bundle hashing (no server needed)."""

from __future__ import annotations

import pytest

from tests.helpers import require_import

require_import("lsprotocol", "pip install 'densegym[lsp]'")

from hypothesis import given
from hypothesis import strategies as st

from densegym.envs.lsp.bundles import content_hash, make_bundle, sorted_diagnostics
from densegym.envs.lsp.rewards import lanser_reward


def test_worked_example_1():
    assert lanser_reward(5, 2, 1, 0.94) == pytest.approx(1.894, abs=1e-12)


def test_bundle_example():
    assert lanser_reward(1, 0, 1, 0.72) == pytest.approx(0.872, abs=1e-12)


def test_appendix_e_example_2_literal_and_with_penalty():
    # Eq. 5.1 as written gives -0.038; the paper's -0.438 needs the optional failed-safety penalty.
    assert lanser_reward(3, 3, 0, 0.62) == pytest.approx(-0.038, abs=1e-12)
    assert lanser_reward(3, 3, 0, 0.62, safety_fail_penalty=-0.4) == pytest.approx(-0.438, abs=1e-12)


def test_zero_weights_give_zero():
    assert lanser_reward(7, 1, 1, 0.3, weights=(0.0, 0.0, 0.0)) == 0.0


finite = st.floats(-20, 20, allow_nan=False)
unit = st.floats(0, 1, allow_nan=False)


@given(finite, finite, st.sampled_from([0, 1]), unit, st.floats(0, 5), unit)
def test_monotone_and_bounded(d_prev, d_now, safe, alpha, bump, more_alpha):
    r = lanser_reward(d_prev, d_now, safe, alpha)
    assert lanser_reward(d_prev + bump, d_now, safe, alpha) >= r - 1e-12
    assert lanser_reward(d_prev, d_now, 1, alpha) >= lanser_reward(d_prev, d_now, 0, alpha)
    assert lanser_reward(d_prev, d_now, safe, max(alpha, more_alpha)) >= r - 1e-12
    rest = r - 0.5 * (d_prev - d_now) - 0.4 * safe
    assert -0.1 - 1e-12 <= rest <= 1e-12


def test_gra_is_the_gated_transform_over_diagnostics_and_safety():
    """The anti-deletion gate: ``lsp_gated``'s transform keeps diagnostics + safety only in solved episodes."""
    from densegym.rewards.transforms import GatedConfig, gated_accumulation
    from densegym.trajectory import Trajectory, Turn

    def traj(outcome):
        turns = [Turn("", "", 0.0, {"diagnostics": 2.0, "safety": 1.0, "format": -1.0}),
                 Turn("", "", 0.0, {"diagnostics": -1.0, "safety": 0.0, "format": 0.0})]  # fmt: skip
        return Trajectory("densegym/LSPCode-v0", "t", turns=turns, outcome=outcome)

    config = GatedConfig(channels=("outcome", ("diagnostics", "safety")), thresholds=(1.0,))
    solved, failed = traj(1.0), traj(0.0)
    assert [list(g) for g in gated_accumulation([solved, failed], config)] == [[3.0, -1.0], [0.0, 0.0]]
    assert [t.components["format"] for t in failed.turns] == [-1.0, 0.0]  # not gated, not touched
    assert list(gated_accumulation([traj(0.0)], GatedConfig(config.channels, (0.0,)))[0]) == [3.0, -1.0]  # D-RA
    assert list(gated_accumulation([traj(1.0)], GatedConfig(config.channels, (1.0,), "gt"))[0]) == [0.0, 0.0]


def test_bundle_id_is_stable_and_order_free():
    facts = [
        {"file": "b.py", "range": [3, 0, 3, 4], "severity": "error", "rule": "r", "message": "m"},
        {"file": "a.py", "range": [1, 2, 1, 5], "severity": "warning", "rule": "r", "message": "m"},
    ]
    one = make_bundle({"command": "diagnostics"}, sorted_diagnostics(facts), environment={"server": "x"})
    two = make_bundle({"command": "diagnostics"}, sorted_diagnostics(list(reversed(facts))), environment={"server": "x"})
    assert one == two and one["bundleId"] == content_hash({k: v for k, v in one.items() if k != "bundleId"})
    other = make_bundle({"command": "diagnostics"}, sorted_diagnostics(facts[:1]), environment={"server": "x"})
    assert other["bundleId"] != one["bundleId"]
