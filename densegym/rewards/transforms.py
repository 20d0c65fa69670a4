"""Trajectory transforms: rewards that need the whole episode, applied by the trainer to finished trajectories.

Each transform writes one component into every ``Turn.components`` (as a reward hook would) and leaves the
other components as they are, so any estimator can read it through its reward key:

* :func:`gated_accumulation` (``"gated"``): G-RA, docs/algorithms.md section 3. Compose with an estimator by reading
  ``"gated"`` as the turn reward (``turn``, ``gigpo``) or ``("outcome", "gated")`` as the trajectory score
  (``grpo``, ``rloo``: the G-RA return ``R = r_high + sum_t r~_t``).
* :func:`min_form` (``"min_form"``): PURE's min-form weighting, section 7(b).
* :func:`normalize_component` (``"<name>_norm"``): batch max-abs (iStar's ``batch_norm``) or group z-score.

``TRANSFORMS`` maps the names to the functions. numpy only.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from densegym.groupmath import batch_norm, min_form_rewards, task_groups, trajectory_score, turn_rewards
from densegym.trajectory import Trajectory

GATED = "gated"
MIN_FORM = "min_form"

_GATE_OPS = {"ge": operator.ge, "gt": operator.gt}


@dataclass
class GatedConfig:
    """G-RA, gated reward accumulation (docs/algorithms.md section 3(b)).

    channels: reward channels from the highest priority to the lowest. The first is a score key
        (``"outcome"``: ``Trajectory.outcome``, the high-level outcome); the others are per-turn components.
    thresholds: ``Delta_j`` for each gating channel, i.e. every channel but the last. A gating channel that is a
        per-turn component is compared through its sum over the trajectory.
    gate_op: ``"ge"`` (R >= Delta, default) or ``"gt"`` (R > Delta, a third-party reimplementation).

    The two-level form ``r~_t = r_low_t * 1[r_high >= Delta]`` is ``channels=("outcome", "<low>")``,
    ``thresholds=(Delta,)``. The thresholds are [UNVERIFIED] in the paper; the SWE suggestion is a Delta
    between the "empty patch" and "patch fails tests" outcome levels.
    """

    channels: Sequence[str] = ("outcome", "format")
    thresholds: Sequence[float] = (0.0,)
    gate_op: str = "ge"
    out: str = GATED


def write_component(batch: Sequence[Trajectory], name: str, values: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Store ``values[i][t]`` as ``batch[i].turns[t].components[name]``; return ``values``."""
    for traj, per_turn in zip(batch, values):
        for turn, value in zip(traj.turns, per_turn):
            turn.components[name] = float(value)
    return list(values)


def gates(traj: Trajectory, config: GatedConfig) -> list[bool]:
    """Whether each channel counts: channel i counts iff every higher channel j passes ``R^(j) op Delta_j``.
    The top channel always counts."""
    if len(config.thresholds) != len(config.channels) - 1:
        raise ValueError("G-RA needs one threshold per gating channel (len(channels) - 1)")
    if config.gate_op not in _GATE_OPS:
        raise ValueError(f"unknown gate_op {config.gate_op!r}; use 'ge' or 'gt'")
    passes = _GATE_OPS[config.gate_op]
    open_so_far = True
    result = [True]
    for channel, delta in zip(config.channels[:-1], config.thresholds):
        open_so_far = open_so_far and bool(passes(trajectory_score(traj, channel), delta))
        result.append(open_so_far)
    return result


def gated_accumulation(batch: Sequence[Trajectory], config: GatedConfig | None = None) -> list[np.ndarray]:
    """Write ``components[config.out] = sum over lower channels i of 1[gate_i] * r^(i)_t`` into every turn.

    The gate depends on the terminal outcome, so apply this to finished trajectories only (never inside
    ``step()``). Returns the gated per-turn rewards. The G-RA return is ``outcome + sum_t gated_t``.
    """
    config = config or GatedConfig()
    out = []
    for traj in batch:
        open_channels = gates(traj, config)
        gated = np.zeros(len(traj.turns))
        for channel, is_open in zip(config.channels[1:], open_channels[1:]):
            if is_open:
                gated += turn_rewards(traj, channel)
        out.append(gated)
    return write_component(batch, config.out, out)


@dataclass
class MinFormConfig:
    """PURE min-form weighting: T = 0.1 (hard-coded in the code); ``reward``: the per-turn source."""

    temperature: float = 0.1
    weighted: bool = True
    reward: str = "reward"
    out: str = MIN_FORM


def min_form(batch: Sequence[Trajectory], config: MinFormConfig | None = None) -> list[np.ndarray]:
    """Write ``components[config.out] = r*_t`` into every turn; sum-form returns over it are min-form values."""
    config = config or MinFormConfig()
    out = [min_form_rewards(turn_rewards(t, config.reward), config.temperature, config.weighted) for t in batch]
    return write_component(batch, config.out, out)


@dataclass
class NormalizeConfig:
    """``scope="batch_max_abs"``: ``r / (max_batch |r| + eps)`` (iStar's ``batch_norm``, |r| <= 1);
    ``scope="group_zscore"``: ``(r - mean) / (std_pop + eps)`` over all turns of the task group."""

    reward: str = "reward"
    scope: str = "batch_max_abs"
    eps: float = 1e-6
    out: str | None = None  # default "<reward>_norm"


def normalize_component(batch: Sequence[Trajectory], config: NormalizeConfig | None = None) -> list[np.ndarray]:
    """Write a normalised copy of a per-turn reward into ``components[out]``."""
    config = config or NormalizeConfig()
    out_key = config.out or f"{config.reward}_norm"
    rewards = [turn_rewards(traj, config.reward) for traj in batch]
    if config.scope == "batch_max_abs":
        result = batch_norm(rewards, config.eps)
    elif config.scope == "group_zscore":
        result = [np.zeros_like(r) for r in rewards]
        for members in task_groups(batch):
            pool = np.concatenate([rewards[i] for i in members])
            if pool.size == 0:
                continue
            for i in members:
                result[i] = (rewards[i] - pool.mean()) / (pool.std() + config.eps)
    else:
        raise ValueError(f"unknown scope {config.scope!r}; use 'batch_max_abs' or 'group_zscore'")
    return write_component(batch, out_key, result)


TRANSFORMS = {"gated": gated_accumulation, "min_form": min_form, "normalize": normalize_component}
TRANSFORM_CONFIGS = {"gated": GatedConfig, "min_form": MinFormConfig, "normalize": NormalizeConfig}


def apply_transform(batch: Sequence[Trajectory], name: str, **settings) -> list[np.ndarray]:
    """Run the transform ``name`` with its config fields ``settings`` (as written in a trainer config)."""
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; known: {', '.join(TRANSFORMS)}")
    return TRANSFORMS[name](batch, TRANSFORM_CONFIGS[name](**settings))
