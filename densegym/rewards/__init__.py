"""Reward hooks (per-step components) and, in later modules, trajectory transforms."""

from densegym.rewards.base import Hook, RewardHook, RewardSet, Transition
from densegym.rewards.hooks import (
    FormatReward,
    OutcomeReward,
    PotentialProgress,
    format_reward,
    outcome_reward,
    progress_reward,
)

# The generic hooks under their short names (docs/architecture.md, "Rewards").
format = format_reward  # noqa: A001 - the name the contract uses
outcome = outcome_reward
progress = progress_reward

__all__ = [
    "Hook",
    "RewardHook",
    "RewardSet",
    "Transition",
    "FormatReward",
    "OutcomeReward",
    "PotentialProgress",
    "format_reward",
    "outcome_reward",
    "progress_reward",
    "format",
    "outcome",
    "progress",
]
