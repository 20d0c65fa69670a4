"""Sokoban's reward components, all verified by the exact oracle (``oracle.py``).

Let ``d(s)`` be the optimal number of moves to solve from ``s``, ``d0 = d(start)``, and for a deadlocked
state ``d(s) = d_dead = max finite d over the level's reachable states + 1`` (an exact level), or
``2 * d0 + 1`` when the oracle is degraded. The potential is ``phi(s) = -d(s) / d0``: -1 at the start,
0 when solved.

| component | value per turn | range |
|---|---|---|
| ``progress`` | ``phi(after) - phi(before)`` (potential-based: undoing a move pays back exactly what it earned) | ``[-d_dead/d0, k/d0]`` for ``k`` moves per turn |
| ``optimal`` | VPR's verdict (+1 every move of the turn is on an optimal path, 0 legal but not optimal, -1 invalid), less 1 when the turn starts *behind*: farther from solved than the closest the episode has been | ``{-1, 0, 1}``; sums to at most ``d0`` |
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
    """VPR's search-based verifier (is every move of this turn on a shortest solution?), made safe to sum.

    VPR's verdict alone is a per-state judgement: +1 for an optimal move from *any* state. Summed over an
    episode it can be farmed: step off the optimal path (0), step back (+1), repeat. Here the verdict is
    lowered by 1 when the turn starts *behind*, i.e. from a solvable state farther from solved than the lowest
    distance the episode has reached (``info["behind_best"]``):

    | the turn starts | every move optimal | legal, not optimal | invalid |
    |---|---|---|---|
    | at the episode's lowest distance (always, along an optimal path), or deadlocked | +1 | 0 | -1 |
    | behind it | 0 | -1 | -1 |

    *Bounded sum*: a +1 turn starts at the lowest distance ``m`` and ends at ``m - k`` (``k >= 1`` moves, each
    lowering the distance by one), a new lowest distance; so the number of +1 turns is at most
    ``d0 - (lowest distance reached) <= d0``, and every other turn scores 0 or less. A move/undo cycle scores
    at most 0 (the step off scores 0 or -1, the step back from behind 0).

    *Candidate comparison* (VPR's K actions scored from one state, ``collect(candidates=K)``): from every
    solvable state an optimal action scores exactly 1 more than a legal non-optimal one, and an invalid one
    never more than a legal one, so the ranking is VPR's (the levels are shifted by one behind the best).
    """

    range = (-1.0, 1.0)
    description = ("every move of the turn lies on an optimal solution path (oracle search), less 1 when the turn "
                   "starts behind the episode's lowest distance (sums to at most d0)")

    def __call__(self, t: Transition) -> float:
        if not t.valid:
            return -1.0
        info = t.info
        verdict = 1.0 if info.get("moves_optimal", False) else 0.0
        return verdict - 1.0 if info.get("behind_best", False) else verdict


class DeadlockReward(RewardHook):
    range = (-1.0, 0.0)
    description = "the turn made the level unsolvable (oracle search)"

    def __call__(self, t: Transition) -> float:
        if not t.valid:
            return 0.0
        return -1.0 if t.before.distance != _INF and t.after.distance == _INF else 0.0


def progress_hook() -> PotentialProgress:
    return PotentialProgress(attrgetter("phi"), gamma=1.0)  # phi(view) = view.phi, read in C
