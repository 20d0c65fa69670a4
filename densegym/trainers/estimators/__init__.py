"""Advantage estimators: pure numpy functions ``estimator(batch, config=None, ...) -> list[np.ndarray]``.

Every estimator returns **per-turn advantages**: one float64 array per trajectory with one value per turn, in
batch order. The trainer broadcasts turn t's value to the action tokens of turn t
(:func:`common.broadcast_to_tokens`); observation tokens get mask 0. Optional per-token path: an estimator may
return, for a trajectory, a list of per-turn token arrays instead; ``broadcast_to_tokens`` passes it through
(none of the estimators here needs it). The section column is the section of ``docs/algorithms.md``.

| name   | module  | section       | extra inputs (beyond group_id, turns, outcome)                    |
|--------|---------|---------------|-------------------------------------------------------------------|
| grpo   | grpo    | 10            | -                                                                 |
| rloo   | grpo    | 1 (A^E), 8    | -                                                                 |
| turn   | turn    | 4             | optional ``Turn.info["state_group"]`` for state-group candidates   |
| igpo   | igpo    | 2             | ``belief_log_probs=`` or ``Turn.components["info_gain"]``          |
| oprl   | oprl    | 1             | ``step_rewards=`` or ``Turn.components["prm"]``; ``success``        |
| gigpo  | gigpo   | 6             | ``Turn.anchor``                                                   |
| pure   | pure    | 7             | ``success``; action token counts for the token baseline           |

``gated`` (G-RA, section 3) is a trajectory transform in :mod:`densegym.rewards.transforms` that composes with
all of them. Configs are dataclasses with the defaults of docs/algorithms.md: ``CONFIGS[name]()``; each has a
``validate()`` that refuses a value outside an enum-like field's allowed values (``TrainerConfig`` runs it when it
is built, before any rollout).

Every estimator is an :class:`EstimatorSpec` in a registry (:mod:`.registry`): the function, its config, what it
needs beyond the batch (``prm``: oprl; ``probe``: igpo; ``candidates``: turn), which reward keys it sums over
turns. ``register_estimator(name, fn, config_cls, needs=...)`` adds a user's own; ``ESTIMATORS`` and ``CONFIGS``
are live read-only views of the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from densegym.trainers.estimators.gigpo import GiGPOConfig, gigpo
from densegym.trainers.estimators.grpo import GRPOConfig, RLOOConfig, grpo, rloo
from densegym.trainers.estimators.igpo import IGPOConfig, igpo
from densegym.trainers.estimators.oprl import OPRLConfig, oprl, oprl_pairs
from densegym.trainers.estimators.pure import PUREConfig, pure
from densegym.trainers.estimators.registry import (
    NEEDS,
    EstimatorSpec,
    RegistryView,
    get_spec,
    register_estimator,
    unregister_estimator,
)
from densegym.trainers.estimators.turn import TurnConfig, turn, turn_with_mask

# the built-ins; a user's own come from register_estimator. needs: what the trainer provides beyond the batch;
# sums_rewards_over: the config fields whose reward keys the estimator sums over turns (the farmable check)
register_estimator("grpo", grpo, GRPOConfig, sums_rewards_over=("score",))
register_estimator("rloo", rloo, RLOOConfig, sums_rewards_over=("score",))
register_estimator("turn", turn, TurnConfig, needs={"candidates"}, sums_rewards_over=(), masked_fn=turn_with_mask)
register_estimator("igpo", igpo, IGPOConfig, needs={"probe"}, sums_rewards_over=("outcome", "info_gain_key"))
register_estimator("oprl", oprl, OPRLConfig, needs={"prm"}, sums_rewards_over=("score",))
register_estimator("gigpo", gigpo, GiGPOConfig, sums_rewards_over=("score", "reward"))
register_estimator("pure", pure, PUREConfig, sums_rewards_over=("reward",))

ESTIMATORS: Mapping[str, Callable] = RegistryView("fn")  # name -> function, registered ones included (live)
CONFIGS: Mapping[str, type] = RegistryView("config_cls")  # name -> settings dataclass (live)


def get_estimator(name: str) -> Callable:
    """The estimator registered under ``name``; a ValueError lists the known names."""
    return get_spec(name).fn


__all__ = [
    "CONFIGS",
    "ESTIMATORS",
    "NEEDS",
    "EstimatorSpec",
    "get_estimator",
    "get_spec",
    "register_estimator",
    "unregister_estimator",
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
