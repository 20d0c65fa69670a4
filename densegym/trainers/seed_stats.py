"""Statistics over training seeds: what the demo and ``benchmarks/bench_learning.py`` report per arm.

A seed is one training run (its sampling and task order); every arm is run with the same seeds from the same
warm start, so the runs pair up by seed and the paired difference to the baseline removes what the seeds share
(the tasks drawn, the sampling noise they start with). Intervals and tests use Student's t with ``n - 1``
degrees of freedom: with 3 to 5 seeds the normal approximation would be far too narrow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Mean, standard error and the two-sided ``level`` t-interval of values over ``n`` seeds."""

    mean: float
    se: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Paired:
    """Arm minus baseline, seed by seed: the mean difference, its standard error and t-interval, the t statistic
    and the two-sided p-value of the paired t-test (``nan`` when the differences have no spread)."""

    diff: float
    se: float
    low: float
    high: float
    t: float
    p: float
    n: int


def summarize(values: Sequence[float], level: float = 0.95) -> Summary:
    n = len(values)
    if n == 0:
        raise ValueError("summarize needs at least one value")
    mean = sum(values) / n
    if n == 1:
        return Summary(mean, float("nan"), float("nan"), float("nan"), 1)
    se = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)
    half = _t_quantile(0.5 + level / 2, n - 1) * se
    return Summary(mean, se, mean - half, mean + half, n)


def paired(arm: Sequence[float], baseline: Sequence[float], level: float = 0.95) -> Paired:
    if len(arm) != len(baseline):
        raise ValueError(f"paired needs one value per seed in both arms, got {len(arm)} and {len(baseline)}")
    s = summarize([a - b for a, b in zip(arm, baseline)], level)
    if not s.se > 1e-12:  # one seed, or every seed moved by the same amount (up to rounding)
        return Paired(s.mean, s.se, s.low, s.high, float("nan"), float("nan"), s.n)
    t = s.mean / s.se
    return Paired(s.mean, s.se, s.low, s.high, t, 2 * _t_sf(abs(t), s.n - 1), s.n)


def _t_quantile(q: float, df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(q, df))


def _t_sf(x: float, df: int) -> float:
    from scipy.stats import t

    return float(t.sf(x, df))
