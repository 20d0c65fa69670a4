"""Seeded procedural Sokoban levels of a chosen difficulty (= minimum optimal solution length in moves).

1. Carve a room: a random walk through a walled ``height x width`` grid, clearing a random plus- or
   square-shaped patch at each step (the topology generator of Schrader's gym-sokoban, written anew).
2. Put the boxes on random goals: that is a solved state, for every player position.
3. Search backwards from all solved states at once (reversed moves and pulls). Breadth-first layer
   ``k`` holds exactly the states whose optimal solution takes ``k`` moves, so a start picked from a
   layer in the difficulty range is solvable by construction and has a known optimal length.

Rooms too cramped to reach the requested difficulty are redrawn from the same random stream, so the
result is a pure function of the seed and the arguments.
"""

from __future__ import annotations

import numpy as np

from densegym.envs.sokoban.level import Level, mask_of
from densegym.envs.sokoban.oracle import Board

_PATCHES = (
    ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0)),  # plus
    ((0, 0), (0, 1), (1, 0), (1, 1)),  # square
    ((0, 0), (0, 1)),
    ((0, 0), (1, 0)),
    ((0, 0),),
)


def default_difficulty(height: int, width: int, num_boxes: int) -> tuple[int, int]:
    """A difficulty range that rooms of this size reach quickly: harder for larger rooms and more boxes."""
    area = (height - 2) * (width - 2)
    lo = max(4, area // 3 + 2 * num_boxes)
    return lo, lo + max(6, area // 3)


def _carve(rng: np.random.Generator, height: int, width: int, steps: int) -> list[bool]:
    walls = [True] * (height * width)
    r, c = int(rng.integers(1, height - 1)), int(rng.integers(1, width - 1))
    directions = ((1, 0), (-1, 0), (0, 1), (0, -1))
    dr, dc = directions[int(rng.integers(4))]
    for _ in range(steps):
        if rng.random() < 0.35:
            dr, dc = directions[int(rng.integers(4))]
        r = min(max(r + dr, 1), height - 2)
        c = min(max(c + dc, 1), width - 2)
        for pr, pc in _PATCHES[int(rng.integers(len(_PATCHES)))]:
            rr, cc = r + pr, c + pc
            if 0 < rr < height - 1 and 0 < cc < width - 1:
                walls[rr * width + cc] = False
    return walls


def generate_level(
    seed: int | np.random.Generator,
    dim_room: tuple[int, int] = (6, 6),
    num_boxes: int = 2,
    difficulty: int | tuple[int, int] | None = None,
    *,
    max_states: int = 200_000,
    max_tries: int = 200,
    name: str = "",
) -> Level:
    """A solvable level whose optimal solution length lies in ``difficulty`` (an int or an inclusive range).

    Raises ``ValueError`` when no such level turns up in ``max_tries`` rooms (the range is too hard
    for the room size, or ``max_states`` too small to search that deep).
    """
    height, width = dim_room
    if height < 4 or width < 4:
        raise ValueError(f"dim_room must be at least (4, 4), got {dim_room}")
    if num_boxes < 1:
        raise ValueError(f"num_boxes must be at least 1, got {num_boxes}")
    if difficulty is None:
        difficulty = default_difficulty(height, width, num_boxes)
    lo, hi = (difficulty, difficulty) if isinstance(difficulty, (int, np.integer)) else difficulty
    if not 1 <= lo <= hi:
        raise ValueError(f"difficulty must be >= 1 (an int or a range lo <= hi), got {difficulty}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    for _ in range(max_tries):
        walls = _carve(rng, height, width, steps=int(1.5 * (height + width)))
        floor = [i for i, w in enumerate(walls) if not w]
        if len(floor) < num_boxes + 2:
            continue
        goals = sorted(int(g) for g in rng.choice(floor, size=num_boxes, replace=False))
        # The player is a placeholder; the backward search starts from every player position.
        probe = Level(height, width, tuple(walls), tuple(goals), tuple(goals), floor[0], name)
        layers = _backward_layers(Board(probe), hi, max_states)
        depths = [d for d in range(lo, hi + 1) if d < len(layers) and layers[d]]
        if not depths:
            continue
        depth = depths[int(rng.integers(len(depths)))]
        key = sorted(layers[depth])[int(rng.integers(len(layers[depth])))]
        mask, player = divmod(key, probe.n_cells)
        boxes = tuple(i for i in floor if (mask >> i) & 1)
        return Level(height, width, tuple(walls), tuple(goals), boxes, player, name)
    raise ValueError(
        f"no {height}x{width} level with {num_boxes} boxes and optimal length in [{lo}, {hi}] "
        f"found in {max_tries} rooms; lower the difficulty or enlarge the room"
    )


def _backward_layers(board: Board, max_depth: int, max_states: int) -> list[list[int]]:
    """Breadth-first layers of states by optimal distance to solved, up to ``max_depth``."""
    n, goal = board.n, board.goal_mask
    level = board.level
    start = [goal * n + p for p in range(n) if not level.walls[p] and not (goal >> p) & 1]
    seen = set(start)
    layers = [start]
    while len(layers) <= max_depth and layers[-1]:
        nxt = []
        for key in layers[-1]:
            for pred in board.predecessors(key):
                if pred not in seen:
                    seen.add(pred)
                    nxt.append(pred)
        layers.append(nxt)  # complete: every state one move further from solved
        if len(seen) > max_states:
            break
    return layers


def generated_task_id(dim_room: tuple[int, int], num_boxes: int, difficulty: tuple[int, int], seed: int) -> str:
    return f"gen:{dim_room[0]}x{dim_room[1]}:b{num_boxes}:d{difficulty[0]}-{difficulty[1]}:s{seed}"


def parse_generated_task_id(task_id: str) -> tuple[tuple[int, int], int, tuple[int, int], int]:
    """Inverse of :func:`generated_task_id`; raises ``ValueError`` for anything else."""
    try:
        tag, dims, boxes, diff, seed = task_id.split(":")
        if tag != "gen" or not boxes.startswith("b") or not diff.startswith("d") or not seed.startswith("s"):
            raise ValueError
        h, w = (int(x) for x in dims.split("x"))
        lo, hi = (int(x) for x in diff[1:].split("-"))
        return (h, w), int(boxes[1:]), (lo, hi), int(seed[1:])
    except ValueError:
        raise ValueError(f"not a generated Sokoban task id: {task_id!r} (expected gen:HxW:bN:dLO-HI:sSEED)") from None


__all__ = ["generate_level", "default_difficulty", "generated_task_id", "parse_generated_task_id", "mask_of"]
