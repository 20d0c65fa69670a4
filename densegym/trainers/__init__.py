"""Trainers: the RL loop (``Trainer`` + ``TrainerConfig``), advantage estimators (numpy,
``densegym.trainers.estimators``) and the policy loss (torch, ``densegym.trainers.losses``).

    from densegym.trainers import Trainer, TrainerConfig
    with Trainer(TrainerConfig.from_yaml("configs/sokoban_turn.yaml")) as trainer:
        trainer.train()

Importing this package imports neither torch nor transformers; ``Trainer`` and ``losses`` import torch when they
are first used. The math of every estimator is in ``docs/algorithms.md``; each module cites its section.
``register_estimator(name, fn, config_cls, needs=...)`` adds your own (``examples/custom_estimator.py``).
"""

from importlib import import_module
from typing import Any

from densegym.trainers.config import TrainerConfig
from densegym.trainers.estimators import (
    ESTIMATORS,
    EstimatorSpec,
    get_estimator,
    register_estimator,
    unregister_estimator,
)
from densegym.trainers.reward_checks import FarmableRewardWarning


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        return import_module("densegym.trainers.trainer").Trainer
    raise AttributeError(f"module 'densegym.trainers' has no attribute {name!r}")


__all__ = [
    "ESTIMATORS",
    "EstimatorSpec",
    "FarmableRewardWarning",
    "Trainer",
    "TrainerConfig",
    "get_estimator",
    "register_estimator",
    "unregister_estimator",
]
