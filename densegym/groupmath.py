"""Group statistics and reward look-ups shared by the estimators and the reward transforms.

A leaf module (numpy and ``densegym.trajectory`` only): ``densegym.trainers.estimators`` and
``densegym.rewards.transforms`` both build on it, and neither imports the other. The conventions are those
of docs/algorithms.md section 0.1.

Conventions used by every estimator:

* A **task group** is the set of trajectories with the same ``Trajectory.group_id`` (verl's ``uid``). A
  trajectory whose ``group_id`` is ``None`` is a group of its own.
* A **reward key** names where a per-turn reward comes from: ``"reward"`` is ``Turn.reward`` (the env's
  weighted sum), any other string is ``Turn.components[key]`` (unweighted, possibly written by a trajectory
  transform such as ``gated`` or ``info_gain``), a tuple of keys is their sum.
* A **score key** names a per-trajectory scalar: ``"outcome"`` is ``Trajectory.outcome``, ``"success"`` is
  ``float(Trajectory.success)``, any reward key is that reward summed over the turns; a tuple sums its keys
  (``("outcome", "gated")`` is the G-RA return of docs/algorithms.md section 3).
* Estimators return **per-turn advantages**: one float64 array per trajectory, one value per turn. The trainer
  broadcasts turn t's value to the action tokens of turn t (:func:`broadcast_to_tokens`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import numpy as np

from densegym.trajectory import Trajectory, Turn

Key = Union[str, Sequence[str]]


def task_groups(batch: Sequence[Trajectory]) -> list[list[int]]:
    """Indices of the batch split by ``group_id``, in order of first appearance; ``None`` is a group of one."""
    groups: dict[object, list[int]] = {}
    for i, traj in enumerate(batch):
        key = ("__single__", i) if traj.group_id is None else traj.group_id
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def turn_reward(turn: Turn, key: Key = "reward") -> float:
    """One turn's reward under a reward key (see the module docstring)."""
    if not isinstance(key, str):
        return float(sum(turn_reward(turn, k) for k in key))
    if key == "reward":
        return float(turn.reward)
    if key not in turn.components:
        raise KeyError(
            f"turn has no reward component {key!r}; it has {sorted(turn.components)}"
            " (apply the transform that writes it, or pick another key)"
        )
    return float(turn.components[key])


def turn_rewards(traj: Trajectory, key: Key = "reward") -> np.ndarray:
    """The per-turn rewards of one trajectory as a float64 array of length ``len(traj.turns)``."""
    return np.array([turn_reward(turn, key) for turn in traj.turns], dtype=np.float64)


def trajectory_score(traj: Trajectory, key: Key = "outcome") -> float:
    """A per-trajectory scalar ``R_i`` under a score key (see the module docstring)."""
    if not isinstance(key, str):
        return float(sum(trajectory_score(traj, k) for k in key))
    if key == "outcome":
        return float(traj.outcome)
    if key == "success":
        return float(bool(traj.success))
    return float(turn_rewards(traj, key).sum())


def std(values: np.ndarray, unbiased: bool) -> float:
    """Sample std (``unbiased=True``, divides by n-1, torch's default) or population std; 0 for n <= 1
    unbiased."""
    values = np.asarray(values, dtype=np.float64)
    if unbiased:
        return float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.std()) if values.size else 0.0


def group_normalize(
    values: np.ndarray, *, scale: bool = True, eps: float = 1e-6, unbiased: bool = True
) -> np.ndarray:
    """GRPO's group normalisation of one group's scores (docs/algorithms.md section 10(b)).

    ``(R - mean) / (std + eps)`` with ``scale`` ("mean_std_norm"), ``R - mean`` without ("mean_norm"). A group
    of one gets mean 0 and std 1, so its value passes through (verl's convention).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 1:
        return values.copy()
    centred = values - values.mean()
    return centred / (std(values, unbiased) + eps) if scale else centred


def leave_one_out_mean(values: np.ndarray) -> np.ndarray:
    """``mean_{j != i} values_j`` for every i; 0 for a group of one (so RLOO passes ``R_i`` through)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n == 1:
        return np.zeros(1)
    return (values.sum() - values) / (n - 1)


def reverse_discounted_cumsum(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = sum_{k >= t} gamma^(k-t) r_k`` computed backwards (discounted return-to-go)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    returns = np.zeros_like(rewards)
    running = 0.0
    for t in range(rewards.size - 1, -1, -1):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def constant_per_turn(batch: Sequence[Trajectory], values: Sequence[float]) -> list[np.ndarray]:
    """Broadcast one scalar per trajectory to every turn of that trajectory."""
    return [np.full(len(traj.turns), float(v)) for traj, v in zip(batch, values)]


def broadcast_to_tokens(turn_advantages: Sequence[np.ndarray], turn_token_counts: Sequence[Sequence[int]]):
    """Per-turn advantages -> per-token advantages over each trajectory's action tokens, in order.

    ``turn_token_counts[i][t]`` is the number of action tokens of turn t of trajectory i. The result for
    trajectory i has ``sum(turn_token_counts[i])`` entries (only action tokens; the trainer scatters them into
    the concatenated layout of docs/algorithms.md section 0.2, where observation tokens keep advantage 0 and mask 0).

    Per-token path: an estimator may return, for a trajectory, a *list of arrays* (one per turn, one value per
    action token of that turn) instead of one array of per-turn values; this function passes such
    a trajectory through after checking the lengths.
    """
    out = []
    for adv, counts in zip(turn_advantages, turn_token_counts):
        if isinstance(adv, list) and adv and np.ndim(adv[0]) == 1:
            if [len(a) for a in adv] != list(counts):
                raise ValueError("per-token advantages do not match the turns' token counts")
            out.append(np.concatenate([np.asarray(a, dtype=np.float64) for a in adv]))
            continue
        adv = np.asarray(adv, dtype=np.float64)
        if adv.shape != (len(counts),):
            raise ValueError(f"{adv.shape[0]} turn advantages for {len(counts)} turns")
        out.append(np.repeat(adv, np.asarray(counts, dtype=np.int64)))
    return out


def batch_norm(step_rewards: Sequence[np.ndarray], eps: float = 1e-6) -> list[np.ndarray]:
    """``istar_norm: batch_norm`` with step granularity: ``r / (max_batch |r| + eps)``, so ``|r~| <= 1``."""
    arrays = [np.asarray(r, dtype=np.float64) for r in step_rewards]
    peak = max((float(np.abs(r).max()) for r in arrays if r.size), default=0.0)
    return [r / (peak + eps) for r in arrays]


def min_form_rewards(rewards: Sequence[float], temperature: float = 0.1, weighted: bool = True) -> np.ndarray:
    """PURE's transformed rewards ``r*_i = w_i r_i``, ``w = softmax(-r / T)`` over one trajectory's steps
    (docs/algorithms.md section 7(b)); their sum tends to ``min_i r_i`` as T -> 0 and lies in [min r, mean r].

    ``weighted=False`` is the ``disable_weighted_reward`` ablation (uniform weights: the mean).
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.size == 0:
        return r.copy()
    if not weighted:
        return r / r.size
    logits = -r / temperature
    w = np.exp(logits - logits.max())
    return w / w.sum() * r


def commit_index(candidate_rewards: Sequence[float], rng: np.random.Generator, random_select_prob: float = 0.0) -> int:
    """VPR's commit rule (``selection_mode: best``): the candidate that advances the env, uniform among the
    maximum-reward candidates (with probability ``random_select_prob``, uniform among all; paper 0.0)."""
    rewards = np.asarray(candidate_rewards, dtype=np.float64)
    if rewards.size == 0:
        raise ValueError("no candidates to commit")
    if random_select_prob > 0.0 and rng.random() < random_select_prob:
        return int(rng.integers(rewards.size))
    best = np.flatnonzero(rewards == rewards.max())
    return int(rng.choice(best))
