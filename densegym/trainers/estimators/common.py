"""The estimators' group math, re-exported from :mod:`densegym.groupmath` (the leaf module the reward
transforms share; see its docstring for the conventions)."""

from densegym.groupmath import (  # noqa: F401
    Key,
    broadcast_to_tokens,
    constant_per_turn,
    group_normalize,
    leave_one_out_mean,
    reverse_discounted_cumsum,
    std,
    task_groups,
    trajectory_score,
    turn_reward,
    turn_rewards,
)
