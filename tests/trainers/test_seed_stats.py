"""Statistics over training seeds: Student-t intervals and the paired t-test, against hand-worked values and
scipy's own test."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from densegym.trainers.seed_stats import paired, summarize


def test_summary_of_three_seeds_uses_student_t_with_two_degrees_of_freedom():
    s = summarize([0.1, 0.2, 0.3])
    assert s.mean == pytest.approx(0.2)
    assert s.se == pytest.approx(0.1 / math.sqrt(3))
    half = 4.302652729911275 * 0.1 / math.sqrt(3)  # t(0.975, 2): far wider than the normal's 1.96
    assert (s.low, s.high) == pytest.approx((0.2 - half, 0.2 + half))
    assert s.n == 3


def test_paired_difference_matches_scipys_paired_t_test():
    arm, base = [0.31, 0.25, 0.40, 0.22, 0.35], [0.20, 0.24, 0.30, 0.18, 0.21]
    d = paired(arm, base)
    reference = stats.ttest_rel(arm, base)
    assert d.diff == pytest.approx(sum(a - b for a, b in zip(arm, base)) / 5)
    assert d.t == pytest.approx(reference.statistic)
    assert d.p == pytest.approx(reference.pvalue)
    assert d.low < d.diff < d.high and d.n == 5


def test_pairing_removes_what_the_seeds_share():
    base = [0.1, 0.5, 0.9]
    arm = [b + 0.05 + e for b, e in zip(base, (0.01, -0.01, 0.0))]  # a small gain on very different seeds
    assert paired(arm, base).p < 0.05
    assert stats.ttest_ind(arm, base).pvalue > 0.5  # unpaired, the seeds' spread hides it


def test_degenerate_inputs_say_so():
    assert math.isnan(summarize([0.5]).se)
    same = paired([0.3, 0.4], [0.2, 0.3])  # every seed moved by exactly 0.1: no spread to test against
    assert same.diff == pytest.approx(0.1) and math.isnan(same.p)
    with pytest.raises(ValueError, match="one value per seed"):
        paired([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="at least one value"):
        summarize([])
