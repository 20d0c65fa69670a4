"""``pure``: PURE, min-form credit assignment (docs/algorithms.md section 7; ``CJReinforce/PURE``).

Per trajectory with turn rewards ``r_1 .. r_K`` in [-1, 1] (any verifiable turn reward plays the PRM's part):

    w_k  = softmax_k(-r_k / T)             r*_k = w_k r_k           (T = 0.1; sum_k r*_k -> min_k r_k as T -> 0)
    RLOO process baseline, subtracted per step:
        "token" (default): b_i = sum_{j != i} sum_k r*_{j,k} / sum_{j != i} len_j,   r'_{i,k} = r*_{i,k} - b_i * m_{i,k}
                           len_j = sum_k n_{j,k} counts every token of a turn, its end-of-turn token included;
                           m = n - 1 leaves that terminator out (the released code; ``released_token_count``),
                           m = n with ``released_token_count=False`` (each return then lower by b_i per turn it sums)
        "step":            b_i = mean_{j != i} (sum_k r*_{j,k} / K_j),              r'_{i,k} = r*_{i,k} - b_i
    verifiable reward ("PRMVR"): VR_i = success_i - 1, added at the last turn as coef * (VR_i - mean_{j != i} VR_j)
    A_{i,t} = G_{i,t} = sum_{k >= t} r'_{i,k}        (returns with gamma = 1; no critic)

Not here (the trainer's part): the per-token KL penalty of the code (use the loss's k3 KL instead) and zeroing
separator-token advantages.

Inputs: ``config.reward`` per turn (``Turn.reward``), ``group_id``, ``Trajectory.success`` for the verifiable
reward, and with the token baseline the number of action tokens per turn, the end-of-turn token included:
``token_counts`` if given, else ``len(Turn.action_ids)`` (which holds the end-of-turn token when generation
stopped on it; a turn cut off at ``max_new_tokens`` is counted as if its last token were the terminator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from densegym.trainers.estimators.common import (
    Key,
    check_choices,
    leave_one_out_mean,
    reverse_discounted_cumsum,
    task_groups,
    turn_rewards,
)
from densegym.groupmath import min_form_rewards  # noqa: F401  (re-exported: part of this estimator's API)
from densegym.trajectory import Trajectory



@dataclass
class PUREConfig:
    """PURE (``train_pure.sh`` defaults, section 7(c)).

    temperature: T of the min-form softmax, 0.1. weighted: ``False`` is ``disable_weighted_reward`` (the mean).
    reward_baseline: ``"token"`` (default) or ``"step"``.
    released_token_count: with the token baseline, the rate's denominator counts each turn's end-of-turn token
        but the per-turn multiplier does not (``True``, the released code) or both count every token (``False``).
    reward_mode: ``"PRMVR"`` (default), ``"PRM"`` (process only) or ``"VR"`` (verifiable only).
    """

    temperature: float = 0.1
    weighted: bool = True
    reward_baseline: str = "token"
    released_token_count: bool = True
    reward_mode: str = "PRMVR"
    verifiable_reward_coef: float = 1.0
    reward: Key = "reward"

    def validate(self) -> None:
        """The enum-like fields (checked again where they are used)."""
        check_choices(self, {"reward_baseline": ("token", "step"), "reward_mode": ("PRMVR", "PRM", "VR")})


def _token_counts(traj: Trajectory) -> np.ndarray:
    if any(turn.action_ids is None for turn in traj.turns):
        raise ValueError("pure: the token baseline needs Turn.action_ids (or token_counts); use reward_baseline='step'")
    return np.array([len(turn.action_ids) for turn in traj.turns], dtype=np.float64)


def pure(
    batch: Sequence[Trajectory], config: PUREConfig | None = None, token_counts: Sequence[Sequence[int]] | None = None
) -> list[np.ndarray]:
    """PURE per-turn advantages: min-form rewards, RLOO baselines, returns (section 7(b))."""
    config = config or PUREConfig()
    if config.reward_mode not in ("PRMVR", "PRM", "VR"):
        raise ValueError(f"unknown reward_mode {config.reward_mode!r}; use 'PRMVR', 'PRM' or 'VR'")
    if config.reward_baseline not in ("token", "step"):
        raise ValueError(f"unknown reward_baseline {config.reward_baseline!r}; use 'token' or 'step'")
    r_star = [min_form_rewards(turn_rewards(t, config.reward), config.temperature, config.weighted) for t in batch]
    shaped = [np.zeros(len(traj.turns)) for traj in batch]
    for members in task_groups(batch):
        if config.reward_mode in ("PRMVR", "PRM"):
            totals = np.array([r_star[i].sum() for i in members])
            if config.reward_baseline == "token":
                counts = [
                    _token_counts(batch[i]) if token_counts is None else np.asarray(token_counts[i], dtype=np.float64)
                    for i in members
                ]
                lengths = np.array([c.sum() for c in counts])
                n = len(members)
                # average reward per token of the other responses (0 for a group of one)
                rate = (totals.sum() - totals) / np.maximum(lengths.sum() - lengths, 1.0) if n > 1 else np.zeros(1)
                for k, i in enumerate(members):
                    # the released code multiplies by the content tokens only (the terminator left out)
                    multiplier = np.maximum(counts[k] - 1.0, 0.0) if config.released_token_count else counts[k]
                    shaped[i] += r_star[i] - rate[k] * multiplier
            else:
                per_step = np.array([r_star[i].mean() if r_star[i].size else 0.0 for i in members])
                baseline = leave_one_out_mean(per_step)
                for k, i in enumerate(members):
                    shaped[i] += r_star[i] - baseline[k]
        if config.reward_mode in ("PRMVR", "VR"):
            vr = np.array([float(batch[i].success) - 1.0 for i in members])
            vr_adv = vr - leave_one_out_mean(vr)
            for k, i in enumerate(members):
                if shaped[i].size:
                    shaped[i][-1] += config.verifiable_reward_coef * vr_adv[k]
    return [reverse_discounted_cumsum(s, 1.0) for s in shaped]
