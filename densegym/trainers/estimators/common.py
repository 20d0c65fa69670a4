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


def check_choices(config: object, choices: dict[str, tuple[str, ...]]) -> None:
    """Raise ValueError naming the field and its allowed values for every enum-like field of ``config`` (a
    settings dataclass) whose value is not one of ``choices[field]``. Each estimator's config calls it from its
    ``validate()``, which ``TrainerConfig`` runs when it is built, before any rollout."""
    for name, allowed in choices.items():
        value = getattr(config, name)
        if value not in allowed:
            raise ValueError(f"{name}={value!r} is not allowed; use one of {', '.join(map(repr, allowed))}")
