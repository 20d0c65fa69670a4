"""Outcome-only baselines: GRPO and RLOO (docs/algorithms.md section 10; RLOO as in section 1(b), ``A^E``).

Both give every turn of a trajectory the same advantage, computed from one scalar ``R_i`` per trajectory
(``Trajectory.outcome`` by default) against the other trajectories of its task group (same ``group_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from densegym.trainers.estimators.common import (
    Key,
    constant_per_turn,
    group_normalize,
    leave_one_out_mean,
    task_groups,
    trajectory_score,
)
from densegym.trajectory import Trajectory


@dataclass
class GRPOConfig:
    """GRPO (DeepSeekMath; Search-R1's ``compute_grpo_outcome_advantage``), docs/algorithms.md section 10(b).

    score: where ``R_i`` comes from (a score key of ``common``; ``("outcome", "gated")`` for G-RA).
    norm_adv_by_std: ``True`` is "mean_std_norm" ``(R - mean)/(std + eps)``; ``False`` is Dr.GRPO's
        "mean_norm" ``R - mean``.
    unbiased_std: the sample std (torch default, n-1) as in Search-R1; ``False`` for the population std.
    """

    score: Key = "outcome"
    norm_adv_by_std: bool = True
    eps: float = 1e-6
    unbiased_std: bool = True

    def validate(self) -> None:
        """No enum-like field (``score`` is a reward key, checked against the batch)."""


def grpo_advantages(scores: np.ndarray, groups: Sequence[Sequence[int]], config: GRPOConfig) -> np.ndarray:
    """``A_i = (R_i - mean_G R) / (std_G R + eps)`` per group; a group of one gets mean 0, std 1."""
    advantages = np.zeros(len(scores))
    for members in groups:
        advantages[list(members)] = group_normalize(
            scores[list(members)], scale=config.norm_adv_by_std, eps=config.eps, unbiased=config.unbiased_std
        )
    return advantages


def grpo(batch: Sequence[Trajectory], config: GRPOConfig | None = None) -> list[np.ndarray]:
    """GRPO outcome advantage, the same value on every turn of a trajectory (section 10(b)).

    Inputs: ``group_id`` and the score (``Trajectory.outcome`` by default). No model-derived input.
    """
    config = config or GRPOConfig()
    scores = np.array([trajectory_score(t, config.score) for t in batch])
    return constant_per_turn(batch, grpo_advantages(scores, task_groups(batch), config))


@dataclass
class RLOOConfig:
    """RLOO (REINFORCE leave-one-out), docs/algorithms.md section 1(b) ``A^E``: ``R_i - mean_{j != i} R_j``.

    score: where ``R_i`` comes from (a score key of ``common``).
    """

    score: Key = "outcome"

    def validate(self) -> None:
        """No enum-like field."""


def rloo_advantages(scores: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """``A_i = R_i - mean_{j != i} R_j = n/(n-1) (R_i - mean_G R)``; a group of one gets ``A = R_i``."""
    advantages = np.zeros(len(scores))
    for members in groups:
        group = scores[list(members)]
        advantages[list(members)] = group - leave_one_out_mean(group)
    return advantages


def rloo(batch: Sequence[Trajectory], config: RLOOConfig | None = None) -> list[np.ndarray]:
    """RLOO outcome advantage, the same value on every turn of a trajectory.

    Inputs: ``group_id`` and the score (``Trajectory.outcome`` by default). No model-derived input.
    """
    config = config or RLOOConfig()
    scores = np.array([trajectory_score(t, config.score) for t in batch])
    return constant_per_turn(batch, rloo_advantages(scores, task_groups(batch)))
