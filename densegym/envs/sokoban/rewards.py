"""Sokoban's reward components, all verified by the exact oracle (``oracle.py``).

Let ``d(s)`` be the optimal number of moves to solve from ``s``, ``d0 = d(start)``, and for a deadlocked
state ``d(s) = d_dead = max finite d over the level's reachable states + 1`` (an exact level), or
``2 * d0 + 1`` when the oracle is degraded. The potential is ``phi(s) = -d(s) / d0``: -1 at the start,
0 when solved.

| component | value per turn | range |
|---|---|---|
| ``progress`` | ``phi(after) - phi(before)`` (potential-based: undoing a move pays back exactly what it earned) | ``[-d_dead/d0, k/d0]`` for ``k`` moves per turn |
| ``optimal`` | VPR's verdict: +1 every move of the turn is on an optimal path, 0 legal but not optimal, -1 invalid | ``{-1, 0, 1}`` |
| ``deadlock`` | -1 when the turn made the level unsolvable, else 0 | ``{-1, 0}`` |
| ``format`` | 0 for a well-formed legal action, -1 otherwise | ``{-1, 0}`` |
| ``outcome`` | 1 on the turn that solves the level, else 0 | ``{0, 1}`` |
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import NamedTuple

from densegym.rewards import PotentialProgress, RewardHook, Transition

_INF = math.inf


class SokobanView(NamedTuple):
    """The state as reward hooks see it."""

    key: int
    distance: float  # optimal moves to solve; inf when deadlocked
    exact: bool
    phi: float  # the potential -d/d0


class OptimalMoveReward(RewardHook):
    """VPR's search-based verifier: is every move of this turn on a shortest solution?"""

    range = (-1.0, 1.0)
    description = "every move of the turn lies on an optimal solution path (oracle search)"

    def __call__(self, t: Transition) -> float:
        if not t.valid:
            return -1.0
        return 1.0 if t.info.get("moves_optimal", False) else 0.0


class DeadlockReward(RewardHook):
    range = (-1.0, 0.0)
    description = "the turn made the level unsolvable (oracle search)"

    def __call__(self, t: Transition) -> float:
        if not t.valid:
            return 0.0
        return -1.0 if t.before.distance != _INF and t.after.distance == _INF else 0.0


def progress_hook() -> PotentialProgress:
    return PotentialProgress(attrgetter("phi"), gamma=1.0)  # phi(view) = view.phi, read in C
