"""Checks of the reward set a trainer is about to optimise: a *farmable* component under a summing estimator.

A reward hook declares ``farmable = True`` (:class:`densegym.rewards.RewardHook`) when its per-turn value is a
per-state verdict that can be earned again and again without progress: stepping off and back onto a good
state, undoing and redoing an edit. Compared across the candidate actions of one state (VPR's ``turn``
estimator) such a verdict ranks actions correctly; summed over an episode it pays for cycling. Estimators
that sum rewards over turns (returns, trajectory scores) therefore get a :class:`FarmableRewardWarning` when a
farmable component has a non-zero weight in what they sum.
"""

from __future__ import annotations

import warnings
from typing import Any

from densegym.trainers.estimators import get_spec


class FarmableRewardWarning(UserWarning):
    """A farmable reward component is summed over turns by the configured estimator."""


_SCORE_FIELDS = ("score", "outcome")  # trajectory scores: "outcome" / "success" are the trajectory's own
_TRAJECTORY_KEYS = {"outcome", "success"}


def _keys(value: Any) -> set[str]:
    if not value:
        return set()
    return {value} if isinstance(value, str) else {str(v) for v in value}


def summed_reward_keys(estimator: str, config: Any) -> set[str]:
    """The reward keys (``"reward"`` = the weighted ``Turn.reward``, or component names) that ``estimator``
    with ``config`` sums over the turns of a trajectory: the values of the config fields its spec names in
    ``sums_rewards_over`` (:mod:`densegym.trainers.estimators.registry`). A trajectory score over a reward key
    (``grpo``, ``rloo``, ``oprl``, ``gigpo``'s episode score, ``igpo``'s outcome), a return over turn rewards
    (``gigpo``, ``pure``), ``igpo``'s discounted information gains; ``turn`` compares each turn's reward with
    other turns' and sums nothing. In a score field (``score``, ``outcome``), ``"outcome"`` and ``"success"`` are
    the trajectory's own and sum nothing."""
    keys: set[str] = set()
    for name in get_spec(estimator).sums_rewards_over:
        found = _keys(getattr(config, name, None))
        keys |= found - _TRAJECTORY_KEYS if name in _SCORE_FIELDS else found
    return keys


def farmable_summed(hooks: dict[str, dict[str, Any]], reward_weights: dict[str, float] | None,
                    estimator: str, config: Any) -> dict[str, str]:
    """``{component: why}`` for every farmable component (``hooks`` as ``EnvPool.reward_hooks()`` gives them)
    that the estimator sums over turns with a non-zero weight."""
    summed = summed_reward_keys(estimator, config)
    weights = reward_weights if reward_weights is not None else {n: h["weight"] for n, h in hooks.items()}
    found = {}
    for name, hook in hooks.items():
        if not hook.get("farmable"):
            continue
        weight = float(weights.get(name, 0.0)) if "reward" in summed else 0.0
        if name in summed:
            how = f"it is a reward key the estimator sums ({name!r})"
        elif weight != 0.0:
            how = f"it has weight {weight:g} in Turn.reward, which the estimator sums"
        else:
            continue
        what = f" ({hook['description']})" if hook.get("description") else ""
        found[name] = (
            f"reward component {name!r}{what} is farmable: its hook declares farmable = True, a per-state verdict "
            f"that a policy can earn again and again without progress (e.g. by undoing and redoing a move); "
            f"estimator {estimator!r} sums rewards over turns and {how}, so cycling raises the return. "
            f"Give {name!r} weight 0 (reward_weights), or compare it per state with estimator: turn."
        )
    return found


def warn_farmable(hooks: dict[str, dict[str, Any]], reward_weights: dict[str, float] | None, estimator: str,
                  config: Any) -> dict[str, str]:
    """Warn once (one :class:`FarmableRewardWarning` naming every such component) and return them."""
    found = farmable_summed(hooks, reward_weights, estimator, config)
    if found:
        warnings.warn(" ".join(found.values()), FarmableRewardWarning, stacklevel=3)
    return found
