"""Generic reward hooks that any env can use: ``format``, ``outcome`` and potential-based ``progress``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from densegym.rewards.base import RewardHook, Transition


class FormatReward(RewardHook):
    """``valid`` when the action parsed and was legal, ``invalid`` otherwise (negative, as the env contract of
    docs/architecture.md asks)."""

    description = "the action parsed and was legal"

    def __init__(self, valid: float = 0.0, invalid: float = -1.0):
        self.valid, self.invalid = float(valid), float(invalid)
        self.range = (min(valid, invalid), max(valid, invalid))

    def __call__(self, t: Transition) -> float:
        return self.valid if t.valid else self.invalid


class OutcomeReward(RewardHook):
    """The env's ``info["outcome"]`` on the step that ends the episode, 0 on every other step."""

    description = "the episode's verified outcome, paid on its last step"

    def __init__(self, range: tuple[float, float] = (0.0, 1.0)):
        self.range = range

    def __call__(self, t: Transition) -> float:
        return float(t.info.get("outcome", 0.0))


class PotentialProgress(RewardHook):
    """Potential-based shaping ``r = gamma * phi(after) - phi(before)`` (Ng, Harada & Russell, 1999).

    It leaves the optimal policy unchanged, and with ``gamma = 1`` its sum over any stretch of an
    episode is ``phi(last) - phi(first)``: going back and forth earns exactly nothing. On a terminal
    step ``phi(after)`` is taken as is (the env's potential decides what a terminal state is worth).

    Args:
        potential: ``phi(state_view) -> float``.
        gamma: the discount of the shaping term.
        range: the documented range of one step's value.
    """

    description = "potential-based change in progress towards the goal"

    def __init__(
        self,
        potential: Callable[[Any], float],
        gamma: float = 1.0,
        range: tuple[float, float] = (-1.0, 1.0),
    ):
        self.potential, self.gamma, self.range = potential, float(gamma), range

    def __call__(self, t: Transition) -> float:
        if not t.valid:
            return 0.0
        return self.gamma * self.potential(t.after) - self.potential(t.before)


def format_reward(valid: float = 0.0, invalid: float = -1.0) -> FormatReward:
    return FormatReward(valid, invalid)


def outcome_reward(range: tuple[float, float] = (0.0, 1.0)) -> OutcomeReward:
    return OutcomeReward(range)


def progress_reward(potential: Callable[[Any], float], gamma: float = 1.0, **kw: Any) -> PotentialProgress:
    return PotentialProgress(potential, gamma, **kw)
