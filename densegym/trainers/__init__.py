"""Trainers: advantage estimators (numpy, ``densegym.trainers.estimators``) and the policy loss (torch,
``densegym.trainers.losses``).

Importing this package imports neither torch nor transformers; ``losses`` imports torch when it is imported.
The math of every estimator is in ``docs/ALGORITHMS.md``; each module cites its section.
"""

from densegym.trainers.estimators import ESTIMATORS, get_estimator

__all__ = ["ESTIMATORS", "get_estimator"]
