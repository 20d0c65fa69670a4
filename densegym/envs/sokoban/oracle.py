"""The exact Sokoban oracle: the optimal number of moves to solve from every reachable state.

How it works (once per level, then cached):

1. *Dead squares*: a box on a non-goal square from which no goal can be reached by pushing (even with
   no other box in the way) can never be solved. Pushes onto such squares, and pushes that freeze
   boxes into a 2x2 block of walls and boxes off the goals, are pruned: the states they lead to are
   deadlocks.
2. *Forward enumeration*: breadth-first over every state the player can reach from the start
   (moves and pushes), minus the pruned deadlocks.
3. *Backward distances*: breadth-first from every solved state, over reversed moves and pulls,
   restricted to the enumerated states. Every enumerated state the backward search never reaches
   cannot be solved; every state it reaches gets its exact optimal distance in moves.

A level whose reachable state space exceeds ``max_states`` is not enumerated. The oracle then
answers per state with a bounded breadth-first search from that state (exact when it finishes,
including "no solution"); when the bound is hit it returns a lower bound (the sum over boxes of
their push distance to the nearest goal) and flags the answer as not exact. It never claims
exactness it does not have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from densegym import resources
from densegym.envs.sokoban.level import MOVES, Level, cells_of

INF = math.inf


class Board:
    """Move rules over integer-encoded states (see ``level.py``)."""

    def __init__(self, level: Level):
        self.level = level
        self.n = level.n_cells
        self.walls = level.walls
        self.deltas = level.deltas
        self.goal_mask = level.goal_mask
        self.dead = self._dead_squares()
        self.push_dist = self._push_distances()

    def _dead_squares(self) -> tuple[bool, ...]:
        """Squares from which a lone box cannot be pushed to any goal."""
        alive = set(self.level.goals)
        frontier = list(alive)
        walls = self.walls
        while frontier:
            nxt = []
            for y in frontier:
                for d in self.deltas:
                    x = y - d  # the box stood at x, the player at x - d, and pushed it to y
                    if not walls[x] and not walls[x - d] and x not in alive:
                        alive.add(x)
                        nxt.append(x)
            frontier = nxt
        return tuple(not walls[i] and i not in alive for i in range(self.n))

    def _push_distances(self) -> tuple[float, ...]:
        """Per square, the fewest pushes that move a lone box from it onto the nearest goal."""
        dist = {g: 0 for g in self.level.goals}
        frontier = list(dist)
        while frontier:
            nxt = []
            for y in frontier:
                for d in self.deltas:
                    x = y - d
                    if not self.walls[x] and not self.walls[x - d] and x not in dist:
                        dist[x] = dist[y] + 1
                        nxt.append(x)
            frontier = nxt
        return tuple(dist.get(i, INF) for i in range(self.n))

    def frozen(self, cell: int, mask: int) -> bool:
        """A box just pushed to ``cell`` sits in a 2x2 block of walls/boxes with a box off its goal."""
        w = self.level.width
        walls, goals = self.walls, self.goal_mask
        for top_left in (cell, cell - 1, cell - w, cell - w - 1):
            block = (top_left, top_left + 1, top_left + w, top_left + w + 1)
            if all(walls[c] or (mask >> c) & 1 for c in block):
                if any((mask >> c) & 1 and not (goals >> c) & 1 for c in block):
                    return True
        return False

    def move(self, key: int, direction: int) -> tuple[int, bool] | None:
        """The state after one move (and whether it pushed a box), or ``None`` if the move is illegal."""
        n = self.n
        mask, player = divmod(key, n)
        d = self.deltas[direction]
        q = player + d
        if self.walls[q]:
            return None
        bit = 1 << q
        if mask & bit:
            r = q + d
            if self.walls[r] or (mask >> r) & 1:
                return None
            return ((mask ^ bit) | (1 << r)) * n + q, True
        return mask * n + q, False

    def solved(self, key: int) -> bool:
        return key // self.n == self.goal_mask

    def expand(self, key: int):
        """Successor states, with pushes into dead squares or frozen blocks left out (they are deadlocks)."""
        n, walls, dead = self.n, self.walls, self.dead
        mask, player = divmod(key, n)
        for d in self.deltas:
            q = player + d
            if walls[q]:
                continue
            bit = 1 << q
            if mask & bit:
                r = q + d
                if walls[r] or (mask >> r) & 1 or dead[r]:
                    continue
                new_mask = (mask ^ bit) | (1 << r)
                if self.frozen(r, new_mask):
                    continue
                yield new_mask * n + q
            else:
                yield mask * n + q

    def predecessors(self, key: int):
        """States from which one move leads to ``key``: a plain step back, or a pull of the box ahead."""
        n, walls = self.n, self.walls
        mask, player = divmod(key, n)
        for d in self.deltas:
            q = player - d
            if walls[q] or (mask >> q) & 1:
                continue
            yield mask * n + q
            ahead = player + d
            if (mask >> ahead) & 1:
                yield ((mask ^ (1 << ahead)) | (1 << player)) * n + q

    def lower_bound(self, key: int) -> float:
        return sum(self.push_dist[c] for c in cells_of(key // self.n))


@dataclass(frozen=True)
class Answer:
    """The oracle's answer for one state: optimal moves to solve (``inf`` = deadlock) and whether it is exact."""

    distance: float
    exact: bool

    @property
    def deadlock(self) -> bool:
        return self.exact and self.distance == INF


class SokobanOracle:
    """Exact optimal distances for every state reachable in one level (module docstring).

    Args:
        level: the level.
        max_states: the most states to enumerate before falling back to per-state bounded search.
        search_limit: states a per-state fallback search may visit.
    """

    def __init__(self, level: Level, max_states: int = 300_000, search_limit: int = 20_000):
        self.level = level
        self.board = Board(level)
        self.max_states = max_states
        self.search_limit = search_limit
        self.dist: dict[int, int] | None = None
        self.n_states = 0
        self._fallback: dict[int, Answer] = {}
        self._enumerate()
        self.exact = self.dist is not None
        start = self.answer(level.start_key)
        self.start_distance = start.distance
        if self.dist is not None:
            self.max_distance = max(self.dist.values(), default=0)
        else:
            self.max_distance = None

    def _enumerate(self) -> None:
        board = self.board
        start = self.level.start_key
        seen = {start}
        frontier = [start]
        while frontier:
            nxt = []
            for key in frontier:
                for succ in board.expand(key):
                    if succ not in seen:
                        seen.add(succ)
                        nxt.append(succ)
            if len(seen) > self.max_states:
                return
            frontier = nxt
        self.n_states = len(seen)
        goal = board.goal_mask
        n = board.n
        dist = {k: 0 for k in seen if k // n == goal}
        frontier = list(dist)
        depth = 0
        while frontier:
            depth += 1
            nxt = []
            for key in frontier:
                for pred in board.predecessors(key):
                    if pred in seen and pred not in dist:
                        dist[pred] = depth
                        nxt.append(pred)
            frontier = nxt
        self.dist = dist

    def answer(self, key: int) -> Answer:
        if self.dist is not None:
            d = self.dist.get(key)
            return Answer(INF if d is None else float(d), True)
        cached = self._fallback.get(key)
        if cached is None:
            cached = self._fallback[key] = self._search(key)
        return cached

    def distance(self, key: int) -> float:
        if self.dist is not None:  # the hot path: one dict lookup
            d = self.dist.get(key)
            return INF if d is None else d
        return self.answer(key).distance

    def _search(self, key: int) -> Answer:
        """Bounded breadth-first search from one state (the fallback for levels too large to enumerate)."""
        board = self.board
        if board.solved(key):
            return Answer(0.0, True)
        seen = {key}
        frontier = [key]
        depth = 0
        while frontier:
            depth += 1
            nxt = []
            for k in frontier:
                for succ in board.expand(k):
                    if succ in seen:
                        continue
                    if board.solved(succ):
                        return Answer(float(depth), True)
                    seen.add(succ)
                    nxt.append(succ)
            if len(seen) > self.search_limit:
                return Answer(max(float(depth), board.lower_bound(key)), False)
            frontier = nxt
        return Answer(INF, True)

    def best_moves(self, key: int) -> list[str]:
        """The moves from ``key`` that start an optimal solution ([] when solved or deadlocked)."""
        here = self.answer(key)
        if here.distance in (0.0, INF):
            return []
        best, best_d = [], INF
        for i, name in enumerate(MOVES):
            nxt = self.board.move(key, i)
            if nxt is None:
                continue
            d = self.distance(nxt[0])
            if d < best_d:
                best, best_d = [name], d
            elif d == best_d and d < INF:
                best.append(name)
        return best


_ORACLES = resources.cache("sokoban.oracles", maxsize=512)


def oracle_for(level: Level, max_states: int = 300_000) -> SokobanOracle:
    """The oracle of ``level``, computed once and kept in the per-process LRU cache ``sokoban.oracles``."""
    key = (level.width, level.walls, level.goals, level.boxes, level.player, max_states)
    oracle = _ORACLES.get(key)
    if oracle is None:
        oracle = SokobanOracle(level, max_states=max_states)
        _ORACLES.put(key, oracle)
    return oracle
