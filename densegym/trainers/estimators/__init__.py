"""Advantage estimators: pure numpy functions ``estimator(batch, config=None, ...) -> list[np.ndarray]``.

Every estimator returns **per-turn advantages**: one float64 array per trajectory with one value per turn, in
batch order. The trainer broadcasts turn t's value to the action tokens of turn t
(:func:`common.broadcast_to_tokens`); observation tokens get mask 0. Optional per-token path: an estimator may
return, for a trajectory, a list of per-turn token arrays instead; ``broadcast_to_tokens`` passes it through
(none of the estimators here needs it).

| name   | module  | ALGORITHMS.md | extra inputs (beyond group_id, turns, outcome)                    |
|--------|---------|---------------|-------------------------------------------------------------------|
| grpo   | grpo    | 10            | -                                                                 |
| rloo   | grpo    | 1 (A^E), 8    | -                                                                 |
| turn   | turn    | 4             | optional ``Turn.info["state_group"]`` for state-group candidates   |
| igpo   | igpo    | 2             | ``belief_log_probs=`` or ``Turn.components["info_gain"]``          |
| oprl   | oprl    | 1             | ``step_rewards=`` or ``Turn.components["prm"]``; ``success``        |
| gigpo  | gigpo   | 6             | ``Turn.anchor``                                                   |
| pure   | pure    | 7             | ``success``; action token counts for the token baseline           |

``gated`` (G-RA, section 3) is a trajectory transform in :mod:`densegym.rewards.transforms` that composes with
all of them. Configs are dataclasses with ALGORITHMS.md's defaults: ``CONFIGS[name]()``.
"""

from __future__ import annotations

from collections.abc import Callable

from densegym.trainers.estimators.gigpo import GiGPOConfig, gigpo
from densegym.trainers.estimators.grpo import GRPOConfig, RLOOConfig, grpo, rloo
from densegym.trainers.estimators.igpo import IGPOConfig, igpo
from densegym.trainers.estimators.oprl import OPRLConfig, oprl, oprl_pairs
from densegym.trainers.estimators.pure import PUREConfig, pure
from densegym.trainers.estimators.turn import TurnConfig, turn, turn_with_mask

ESTIMATORS: dict[str, Callable] = {
    "grpo": grpo,
    "rloo": rloo,
    "turn": turn,
    "igpo": igpo,
    "oprl": oprl,
    "gigpo": gigpo,
    "pure": pure,
}

CONFIGS: dict[str, type] = {
    "grpo": GRPOConfig,
    "rloo": RLOOConfig,
    "turn": TurnConfig,
    "igpo": IGPOConfig,
    "oprl": OPRLConfig,
    "gigpo": GiGPOConfig,
    "pure": PUREConfig,
}


def get_estimator(name: str) -> Callable:
    """The estimator registered under ``name``; a ValueError lists the known names."""
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise ValueError(f"unknown estimator {name!r}; known: {', '.join(sorted(ESTIMATORS))}") from None


__all__ = [
    "CONFIGS",
    "ESTIMATORS",
    "get_estimator",
    "GRPOConfig",
    "RLOOConfig",
    "TurnConfig",
    "IGPOConfig",
    "OPRLConfig",
    "GiGPOConfig",
    "PUREConfig",
    "grpo",
    "rloo",
    "turn",
    "turn_with_mask",
    "igpo",
    "oprl",
    "oprl_pairs",
    "gigpo",
    "pure",
]
