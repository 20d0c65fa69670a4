"""``turn``: dense verifiable turn rewards, VPR-style (docs/algorithms.md section 4(b), "Advantage").

Two ways to compare a turn's reward with others:

* **State groups** (VPR's paper configuration): when the env supports ``snapshot()``/``restore()``, the rollout
  samples K candidate actions from one state and scores each with the env's verifier. Every candidate turn
  carries the same ``Turn.info["state_group"]`` (any hashable value unique to that state within its task
  group); uncommitted candidates are stored as one-turn trajectories of the same ``group_id``. A state group
  with fewer than two members or equal rewards carries no preference and is **masked** from the loss.
  ``c_j = r_j - mean(g)`` ("mean_then_batch_whiten", paper default) is then whitened over all unmasked rows
  of the batch; "group_whiten" uses ``c_j = (r_j - mean(g)) / (std_pop(g) + eps)`` as the advantage.
* **Without state groups** the turns are normalised against other turns: ``normalization="group"`` (default)
  pools every turn of the task group, whatever its index; ``"turn_index"`` is VPR's per-turn mode ("normalised
  by turn across active trajectories": per turn index over the batch, batch statistics where fewer than
  ``min_group_size`` rows share the index); ``"batch"`` pools the whole batch.

**Length bias (docs/algorithms.md section 4, "Length bias"; verl RFC 7244).** When the policy decides how long an
episode is, the rows at a late turn index exist only in long episodes, so per-index statistics compare them only
with each other: the extra turns of a long, wandering episode are centred among themselves and look no worse than
the short episode's turns (a hidden length bias). With ``normalization="turn_index"`` and trajectories of
different lengths inside a task group, ``unequal_lengths="group"`` (default) falls back to task-group pooling with
a warning; ``"allow"`` keeps the per-index statistics for parity with VPR's code.

The effective turn reward is ``r_t + kappa * 1[last turn and terminated] * 1[success]`` (kappa =
``outcome_reward_scale``: the paper configs use 0.0, the code's function default is 1.0).

:func:`turn_with_mask` also returns the per-turn loss mask (0 for masked state groups); :func:`turn` returns
the advantages only (masked turns get 0).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from densegym.trainers.estimators.common import Key, check_choices, task_groups, turn_rewards
from densegym.groupmath import commit_index  # noqa: F401  (re-exported: part of this estimator's API)
from densegym.trajectory import Trajectory

STATE_GROUP = "state_group"


@dataclass
class TurnConfig:
    """VPR turn-level advantage (docs/algorithms.md section 4(b), defaults section 4(c)).

    reward: per-turn reward key (``"reward"`` = ``Turn.reward``; a component name such as ``"gated"``).
    outcome_reward_scale: kappa; 0.0 as in every VPR paper config.
    mode: ``"auto"`` (state groups when any turn has ``info["state_group"]``), ``"state_group"``, ``"per_turn"``.
    state_group_advantage_mode: ``"mean_then_batch_whiten"`` (paper) or ``"group_whiten"``.
    normalization: without state groups, ``"group"`` (default), ``"turn_index"`` (VPR per-turn mode), ``"batch"``.
    min_group_size: per-index rows needed for per-index statistics in ``"turn_index"`` (VPR: 4).
    unequal_lengths: ``"group"`` or ``"allow"``; see the length-bias note of the module.
    eps: 1e-8 (VPR); population std throughout.
    """

    reward: Key = "reward"
    outcome_reward_scale: float = 0.0
    mode: str = "auto"
    state_group_advantage_mode: str = "mean_then_batch_whiten"
    normalization: str = "group"
    min_group_size: int = 4
    unequal_lengths: str = "group"
    eps: float = 1e-8

    def validate(self) -> None:
        """The enum-like fields (checked again where they are used)."""
        check_choices(self, {
            "mode": ("auto", "state_group", "per_turn"),
            "state_group_advantage_mode": ("mean_then_batch_whiten", "group_whiten"),
            "normalization": ("group", "turn_index", "batch"),
            "unequal_lengths": ("group", "allow"),
        })



def effective_turn_rewards(traj: Trajectory, config: TurnConfig) -> np.ndarray:
    """``r_t + kappa * 1[terminal] * 1[success]`` for every turn of the trajectory."""
    rewards = turn_rewards(traj, config.reward)
    if rewards.size and traj.terminated and traj.success:
        rewards[-1] += config.outcome_reward_scale
    return rewards


def _zscore(values: np.ndarray, eps: float) -> np.ndarray:
    return (values - values.mean()) / (values.std() + eps)


def state_group_advantages(
    batch: Sequence[Trajectory], rewards: list[np.ndarray], config: TurnConfig
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """VPR state-group advantages and masks. Groups are keyed by ``(group_id, info["state_group"])``; a turn
    without the key is a group of one (masked)."""
    members: dict[object, list[tuple[int, int]]] = {}
    for i, traj in enumerate(batch):
        for t, turn in enumerate(traj.turns):
            label = turn.info.get(STATE_GROUP)
            key = ("__alone__", i, t) if label is None else (traj.group_id, label)
            members.setdefault(key, []).append((i, t))
    advantages = [np.zeros(len(traj.turns)) for traj in batch]
    masks = [np.zeros(len(traj.turns)) for traj in batch]
    centred: list[tuple[int, int, float]] = []
    for rows in members.values():
        r = np.array([rewards[i][t] for i, t in rows])
        if r.size < 2 or r.std() <= config.eps:  # equal rewards carry no preference
            continue
        if config.state_group_advantage_mode == "mean_then_batch_whiten":
            c = r - r.mean()
        elif config.state_group_advantage_mode == "group_whiten":
            c = _zscore(r, config.eps)
        else:
            raise ValueError(f"unknown state_group_advantage_mode {config.state_group_advantage_mode!r}")
        centred.extend((i, t, float(v)) for (i, t), v in zip(rows, c))
    if centred:
        c_all = np.array([v for _, _, v in centred])
        if config.state_group_advantage_mode == "mean_then_batch_whiten":
            sd = c_all.std()
            c_all = (c_all - c_all.mean()) / (sd + config.eps) if sd > config.eps else np.zeros_like(c_all)
        for (i, t, _), a in zip(centred, c_all):
            advantages[i][t] = a
            masks[i][t] = 1.0
    return advantages, masks


def per_turn_advantages(batch: Sequence[Trajectory], rewards: list[np.ndarray], config: TurnConfig) -> list[np.ndarray]:
    """Turn rewards normalised against other turns (``normalization`` of :class:`TurnConfig`)."""
    normalization = config.normalization
    groups = task_groups(batch)
    if normalization == "turn_index" and config.unequal_lengths != "allow":
        if any(len({len(batch[i].turns) for i in g}) > 1 for g in groups):
            warnings.warn(
                "turn: trajectories of one task group have different lengths; per-turn-index normalisation would"
                " hide a length bias, so turns are pooled per task group (unequal_lengths='allow' to keep it)",
                stacklevel=3,
            )
            normalization = "group"
    advantages = [np.zeros(len(traj.turns)) for traj in batch]
    if normalization == "group":
        for g in groups:
            pool = np.concatenate([rewards[i] for i in g]) if g else np.zeros(0)
            if pool.size == 0:
                continue
            mu, sd = pool.mean(), pool.std()
            for i in g:
                advantages[i] = (rewards[i] - mu) / (sd + config.eps)
    elif normalization == "batch":
        pool = np.concatenate(rewards) if rewards else np.zeros(0)
        if pool.size:
            mu, sd = pool.mean(), pool.std()
            advantages = [(r - mu) / (sd + config.eps) for r in rewards]
    elif normalization == "turn_index":
        pool = np.concatenate(rewards) if rewards else np.zeros(0)
        max_len = max((r.size for r in rewards), default=0)
        for t in range(max_len):
            rows = [i for i, r in enumerate(rewards) if r.size > t]
            values = np.array([rewards[i][t] for i in rows])
            ref = values if len(rows) >= config.min_group_size else pool  # VPR's batch-wide fallback
            mu, sd = ref.mean(), ref.std()
            for i, v in zip(rows, values):
                advantages[i][t] = (v - mu) / (sd + config.eps)
    else:
        raise ValueError(f"unknown normalization {config.normalization!r}; use 'group', 'turn_index' or 'batch'")
    return advantages


def turn_with_mask(
    batch: Sequence[Trajectory], config: TurnConfig | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-turn advantages and per-turn loss masks (1 = train on this turn) for the ``turn`` estimator.

    Inputs: ``Turn.reward`` (or ``config.reward``), ``group_id``, optional ``Turn.info["state_group"]``, and
    ``terminated``/``success`` when kappa is not 0. No model-derived input.
    """
    config = config or TurnConfig()
    rewards = [effective_turn_rewards(traj, config) for traj in batch]
    mode = config.mode
    if mode == "auto":
        has_groups = any(STATE_GROUP in turn.info for traj in batch for turn in traj.turns)
        mode = "state_group" if has_groups else "per_turn"
    if mode == "state_group":
        return state_group_advantages(batch, rewards, config)
    if mode == "per_turn":
        return per_turn_advantages(batch, rewards, config), [np.ones(len(t.turns)) for t in batch]
    raise ValueError(f"unknown mode {config.mode!r}; use 'auto', 'state_group' or 'per_turn'")


def turn(batch: Sequence[Trajectory], config: TurnConfig | None = None) -> list[np.ndarray]:
    """The ``turn`` estimator: :func:`turn_with_mask` without the mask (masked turns have advantage 0)."""
    return turn_with_mask(batch, config)[0]
