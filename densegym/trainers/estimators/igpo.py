"""``igpo``: Information Gain-based Policy Optimization (docs/algorithms.md section 2).

Turn rewards of trajectory i with T turns: ``r_t = IG_t`` for t = 1..T-1 and ``r_T = F1`` (the outcome, with
the env's format penalty already in it). They are normalised over the task group, then discounted backwards:

    joint:    one pool {every IG_t and every F1 of the group};  separate: IG pool and F1 pool apart
    r~ = (r - mu) / (sigma + 1e-6),  sigma = sqrt(mean((r - mu)^2) + 1e-8) (population),  sigma := 1 if |pool| <= 1
    A_T = r~_T;   A_t = r~_t + gamma * A_{t+1}

Code details kept (section 2(b)): an IG value of exactly 0 (common when the belief saturates in bf16) becomes
1e-10 and stays in the pool, as IGPO's released reward function does; ``exclude_zero_info_gain=True`` instead
leaves it out of the pool with r~ = 0 (densegym's behaviour before 2026-11). Optional weights multiply F1 and IG
before normalisation. Turn boundaries are the turns themselves, never inferred from non-zero rewards.

Inputs (say which): either ``belief_log_probs`` (one array ``l_0 .. l_{T-1}`` per trajectory, from a
:class:`densegym.rewards.info_gain.BeliefProbe`; IG is computed with ``config.info_gain_type``) or, when it is
``None``, ``Turn.components["info_gain"]`` on turns 1..T-1 as written by
:func:`densegym.rewards.info_gain.apply_info_gain`. The outcome is ``config.outcome`` (``Trajectory.outcome``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from densegym.rewards.info_gain import INFO_GAIN, information_gain
from densegym.trainers.estimators.common import (
    Key,
    check_choices,
    reverse_discounted_cumsum,
    task_groups,
    trajectory_score,
    turn_reward,
)
from densegym.trajectory import Trajectory

ZERO_INFO_GAIN = 1e-10  # what IGPO's released reward function puts in place of an IG of exactly 0


@dataclass
class IGPOConfig:
    """IGPO (section 2(c) defaults are the 2026 ``train.sh``: ``log_prob_diff`` + ``separate``; the paper and the
    function default are ``prob_diff`` + ``joint``, which are the defaults here).

    info_gain_type: ``"prob_diff"`` (paper) or ``"log_prob_diff"``; used with explicit ``belief_log_probs``.
    norm_mode: ``"joint"`` (paper) or ``"separate"``.
    gamma: turn-level discount (1.0).
    exclude_zero_info_gain: ``False`` (released code): an IG of exactly 0 becomes 1e-10 and stays in the pool;
        ``True``: it is left out of the pool and its r~ is 0.
    """

    info_gain_type: str = "prob_diff"
    norm_mode: str = "joint"
    gamma: float = 1.0
    outcome: Key = "outcome"
    info_gain_key: str = INFO_GAIN
    exclude_zero_info_gain: bool = False
    f1_weight: float = 1.0
    info_gain_weight: float = 1.0
    eps: float = 1e-6
    var_eps: float = 1e-8

    def validate(self) -> None:
        """The enum-like fields (checked again where they are used)."""
        check_choices(self, {"info_gain_type": ("prob_diff", "log_prob_diff"), "norm_mode": ("joint", "separate")})


def _pool_stats(values: np.ndarray, var_eps: float) -> tuple[float, float]:
    """IGPO's ``mu`` and population ``sigma = sqrt(var + 1e-8)``; ``sigma := 1`` for a pool of <= 1 element."""
    if values.size == 0:
        return 0.0, 1.0
    mu = float(values.mean())
    if values.size <= 1:
        return mu, 1.0
    return mu, float(np.sqrt(np.mean((values - mu) ** 2) + var_eps))


def igpo_turn_rewards(
    batch: Sequence[Trajectory], config: IGPOConfig, belief_log_probs: Sequence[np.ndarray] | None = None
) -> list[np.ndarray]:
    """Raw turn rewards ``[IG_1 .. IG_{T-1}, F1]`` per trajectory, weights applied (an IG of exactly 0 is
    1e-10 unless ``exclude_zero_info_gain``)."""
    rewards = []
    for i, traj in enumerate(batch):
        T = len(traj.turns)
        if belief_log_probs is not None:
            gains = information_gain(belief_log_probs[i], config.info_gain_type)
            if gains.size != max(T - 1, 0):
                raise ValueError(f"trajectory {i}: {len(belief_log_probs[i])} belief log-probs for {T} turns")
        else:
            gains = np.array([turn_reward(turn, config.info_gain_key) for turn in traj.turns[:-1]])
        if not config.exclude_zero_info_gain:  # the released code keeps a zero gain in the pool as 1e-10
            gains = np.where(gains == 0.0, ZERO_INFO_GAIN, gains)
        if T == 0:
            rewards.append(np.zeros(0))
            continue
        f1 = trajectory_score(traj, config.outcome)
        rewards.append(np.concatenate([config.info_gain_weight * gains, [config.f1_weight * f1]]))
    return rewards


def igpo(
    batch: Sequence[Trajectory], config: IGPOConfig | None = None, belief_log_probs: Sequence[np.ndarray] | None = None
) -> list[np.ndarray]:
    """IGPO per-turn advantages (section 2(b)): group-normalised IG and F1 rewards, discounted over turns."""
    config = config or IGPOConfig()
    if config.norm_mode not in ("joint", "separate"):
        raise ValueError(f"unknown norm_mode {config.norm_mode!r}; use 'joint' or 'separate'")
    rewards = igpo_turn_rewards(batch, config, belief_log_probs)
    normalized = [np.zeros_like(r) for r in rewards]
    for members in task_groups(batch):
        # positions: (trajectory, turn, is_f1); excluded zero-IG positions stay at r~ = 0
        f1_pos = [(i, rewards[i].size - 1) for i in members if rewards[i].size]
        ig_pos = [
            (i, t)
            for i in members
            for t in range(rewards[i].size - 1)
            if not (config.exclude_zero_info_gain and rewards[i][t] == 0.0)
        ]
        pools = [f1_pos + ig_pos] if config.norm_mode == "joint" else [f1_pos, ig_pos]
        for positions in pools:
            values = np.array([rewards[i][t] for i, t in positions])
            mu, sigma = _pool_stats(values, config.var_eps)
            for (i, t), v in zip(positions, values):
                normalized[i][t] = (v - mu) / (sigma + config.eps)
    # A_T = r~_T; A_t = r~_t + gamma * A_{t+1}
    return [reverse_discounted_cumsum(r, config.gamma) for r in normalized]
