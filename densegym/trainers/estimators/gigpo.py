"""``gigpo``: Group-in-Group Policy Optimization (docs/algorithms.md section 6; verl-agent ``gigpo/core_gigpo.py``).

    A^E(tau_i)  = (R_i - mean_G R) / F_norm                         episode (macro) advantage, task group G
    R_t^(i)     = sum_{k >= t} gamma^(k-t) r_k^(i)                   discounted step return (Eq. 5)
    G^S(s)      = {(i, t) in the task group : anchor_t^(i) = s}      anchor-state group (Eq. 6)
    A^S(i, t)   = (R_t^(i) - mean_{G^S} R) / F_norm                  step (micro) advantage (Eq. 7)
    A(i, t)     = A^E(tau_i) + omega * A^S(i, t)                     (Eq. 8)

``F_norm`` is ``std + 1e-6`` ("mean_std_norm", unbiased std) or 1 ("mean_norm", the released default). A group
of one has mean 0 and std 1 for ``A^E`` (so ``A^E = R_i``) and ``A^S = 0``.

Anchor groups never cross task groups. ``Turn.anchor`` is the env's canonical state string; an empty anchor (an
env that gives none) is never grouped. ``enable_similarity`` clusters anchors greedily by
``difflib.SequenceMatcher(None, new, representative).ratio() >= similarity_threshold`` (first match wins), as the
released code does; the ratio is not symmetric, so the argument order (new anchor first) matters.

Code-vs-paper switch: ``episode_stat_weighting``: ``"per_trajectory"`` (paper; default here, so that GiGPO without
repeated states is exactly GRPO) or ``"per_step_row"`` (the code's ``compute_mean_std_cross_steps=True``: group
statistics over step rows, each trajectory weighted by its number of turns).

Inputs: ``group_id``, ``Turn.anchor``, per-turn rewards ``config.reward`` (``Turn.reward``) and the episode score
``config.score`` (``Trajectory.outcome``). No model-derived input.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from densegym.trainers.estimators.common import (
    Key,
    check_choices,
    reverse_discounted_cumsum,
    std,
    task_groups,
    trajectory_score,
    turn_rewards,
)
from densegym.trajectory import Trajectory


@dataclass
class GiGPOConfig:
    """GiGPO (verl-agent example-script defaults, section 6(c))."""

    step_advantage_w: float = 1.0
    gamma: float = 0.95
    mode: str = "mean_norm"
    episode_stat_weighting: str = "per_trajectory"
    enable_similarity: bool = False
    similarity_threshold: float = 0.95
    reward: Key = "reward"
    score: Key = "outcome"
    eps: float = 1e-6

    def validate(self) -> None:
        """The enum-like fields (checked again where they are used)."""
        check_choices(self, {"mode": ("mean_norm", "mean_std_norm"),
                             "episode_stat_weighting": ("per_trajectory", "per_step_row")})


def _normalize(values: np.ndarray, pool: np.ndarray, config: GiGPOConfig) -> np.ndarray:
    """``(x - mean(pool)) / F_norm``; a pool of one has mean 0 and std 1 (verl-agent)."""
    if pool.size <= 1:
        return values.copy()
    centred = values - pool.mean()
    if config.mode == "mean_std_norm":
        return centred / (std(pool, unbiased=True) + config.eps)
    if config.mode == "mean_norm":
        return centred
    raise ValueError(f"unknown mode {config.mode!r}; use 'mean_norm' or 'mean_std_norm'")


def _similar(new: str, representative: str, threshold: float) -> bool:
    """The released order: the new anchor first, the group's representative second (``ratio`` is asymmetric)."""
    return difflib.SequenceMatcher(None, new, representative).ratio() >= threshold


def anchor_groups(
    batch: Sequence[Trajectory], members: Sequence[int], config: GiGPOConfig
) -> list[list[tuple[int, int]]]:
    """The anchor-state groups ``G^S`` of one task group, as lists of (trajectory, turn)."""
    groups: list[list[tuple[int, int]]] = []
    index: dict[str, int] = {}
    for i in members:
        for t, turn in enumerate(batch[i].turns):
            anchor = turn.anchor
            if not anchor:
                groups.append([(i, t)])
                continue
            key = anchor
            if anchor not in index and config.enable_similarity:
                key = next((k for k in index if _similar(anchor, k, config.similarity_threshold)), anchor)
            if key not in index:
                index[key] = len(groups)
                groups.append([])
            groups[index[key]].append((i, t))
    return groups


def gigpo(batch: Sequence[Trajectory], config: GiGPOConfig | None = None) -> list[np.ndarray]:
    """GiGPO per-turn advantages ``A^E + omega * A^S`` (section 6(b))."""
    config = config or GiGPOConfig()
    scores = np.array([trajectory_score(traj, config.score) for traj in batch])
    returns = [reverse_discounted_cumsum(turn_rewards(traj, config.reward), config.gamma) for traj in batch]
    advantages = [np.zeros(len(traj.turns)) for traj in batch]
    for members in task_groups(batch):
        R = scores[members]
        if config.episode_stat_weighting == "per_step_row":
            pool = np.repeat(R, [len(batch[i].turns) for i in members])
        elif config.episode_stat_weighting == "per_trajectory":
            pool = R
        else:
            raise ValueError(f"unknown episode_stat_weighting {config.episode_stat_weighting!r}")
        episode = _normalize(R, pool if len(members) > 1 else R, config)
        for i, a_e in zip(members, episode):
            advantages[i] += a_e
        for rows in anchor_groups(batch, members, config):
            step_returns = np.array([returns[i][t] for i, t in rows])
            a_s = _normalize(step_returns, step_returns, config) if len(rows) > 1 else np.zeros(1)
            for (i, t), a in zip(rows, a_s):
                advantages[i][t] += config.step_advantage_w * a
    return advantages
