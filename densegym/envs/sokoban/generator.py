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


# The most states the backward searches of one ``generate_level`` call may visit, over all its rooms (about
# a second of work). Every registered size and the default stay far below it; a size whose rooms cannot
# reach the difficulty (``dim_room=(20, 20), num_boxes=5`` with its default difficulty) stops here with
# :class:`GenerationError` instead of searching 200 rooms of 200,000 states each (over a minute).
GENERATION_BUDGET = 1_000_000

# What docs/envs.md's Sokoban section measured (default difficulty, one reset including the oracle's build).
PRACTICAL_SIZES = (
    "With the default difficulty, rooms up to 8x8 with up to 5 boxes, up to 12x12 with up to 4 boxes, and 14x14 "
    "or 16x16 with 2 boxes generate with every seed, in about a second at most; larger rooms need a lower "
    "difficulty= (docs/envs.md, Sokoban)."
)


class GenerationError(ValueError):
    """No level of the requested size and difficulty within the generator's budget (rooms or states)."""


class _OutOfBudget(Exception):
    def __init__(self, states: int, depth: int):
        self.states, self.depth = states, depth


def generate_level(
    seed: int | np.random.Generator,
    dim_room: tuple[int, int] = (6, 6),
    num_boxes: int = 2,
    difficulty: int | tuple[int, int] | None = None,
    *,
    max_states: int = 200_000,
    max_tries: int = 200,
    budget: int | None = GENERATION_BUDGET,
    name: str = "",
) -> Level:
    """A solvable level whose optimal solution length lies in ``difficulty`` (an int or an inclusive range).

    ``max_states`` bounds one room's backward search, ``max_tries`` the rooms drawn, and ``budget`` (``None``:
    no bound) the states visited by all the rooms' searches together. Raises :class:`GenerationError` (a
    ``ValueError``) saying what was searched and how deep the rooms went when no such level turns up
    within these bounds (the range is too hard for the room size, or the room too large to search that
    deep). A level returned under a budget is exactly the level returned without one: the budget only
    decides when to give up.
    """
    height, width = dim_room
    if height < 4 or width < 4:
        raise ValueError(f"dim_room must be at least (4, 4), got {dim_room}")
    if num_boxes < 1:
        raise ValueError(f"num_boxes must be at least 1, got {num_boxes}")
    if budget is not None and budget < 1:
        raise ValueError(f"budget must be at least 1 state (or None), got {budget}")
    if difficulty is None:
        difficulty = default_difficulty(height, width, num_boxes)
    lo, hi = (difficulty, difficulty) if isinstance(difficulty, (int, np.integer)) else difficulty
    if not 1 <= lo <= hi:
        raise ValueError(f"difficulty must be >= 1 (an int or a range lo <= hi), got {difficulty}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    spent, rooms, deepest = 0, 0, 0
    boxes_text = f"{num_boxes} box" + ("es" if num_boxes > 1 else "")
    what = f"no {height}x{width} level with {boxes_text} and optimal length in [{lo}, {hi}]"
    for _ in range(max_tries):
        walls = _carve(rng, height, width, steps=int(1.5 * (height + width)))
        floor = [i for i, w in enumerate(walls) if not w]
        if len(floor) < num_boxes + 2:
            continue
        goals = sorted(int(g) for g in rng.choice(floor, size=num_boxes, replace=False))
        # The player is a placeholder; the backward search starts from every player position.
        probe = Level(height, width, tuple(walls), tuple(goals), tuple(goals), floor[0], name)
        rooms += 1
        try:
            layers, states = _backward_layers(Board(probe), hi, max_states, None if budget is None else budget - spent)
        except _OutOfBudget as out:
            spent += out.states
            deepest = max(deepest, out.depth)
            break
        spent += states
        deepest = max(deepest, max((d for d, layer in enumerate(layers) if layer), default=0))
        depths = [d for d in range(lo, hi + 1) if d < len(layers) and layers[d]]
        if depths:
            depth = depths[int(rng.integers(len(depths)))]
            key = sorted(layers[depth])[int(rng.integers(len(layers[depth])))]
            mask, player = divmod(key, probe.n_cells)
            boxes = tuple(i for i in floor if (mask >> i) & 1)
            return Level(height, width, tuple(walls), tuple(goals), boxes, player, name)
        if budget is not None and spent >= budget:
            break
    else:
        raise GenerationError(
            f"{what} found in {max_tries} rooms ({rooms} searched, {spent:,} states, the deepest start {deepest} "
            f"moves from solved); lower the difficulty or enlarge the room. {PRACTICAL_SIZES}"
        )
    raise GenerationError(
        f"{what} found within the generation budget: {rooms} rooms searched, {spent:,} states (budget {budget:,}); "
        f"the deepest start found was {deepest} moves from solved. Lower the difficulty, use a smaller room or fewer "
        f"boxes, or raise generation_budget (None: no bound; slower). {PRACTICAL_SIZES}"
    )


def _backward_layers(
    board: Board, max_depth: int, max_states: int, budget: int | None = None
) -> tuple[list[list[int]], int]:
    """Breadth-first layers of states by optimal distance to solved, up to ``max_depth``, and the number of
    states visited. Stops after the layer that takes the count past ``max_states``; raises ``_OutOfBudget``
    when a search that would go on has visited more than ``budget`` states."""
    n, goal = board.n, board.goal_mask
    walls = board.walls
    start = [goal * n + p for p in range(n) if not walls[p] and not (goal >> p) & 1]
    # per cell: (the cell behind the player, the cell ahead of it) for each direction whose cell behind is floor
    steps = [
        tuple((p - d, p + d) for d in board.deltas if not walls[p - d]) if not walls[p] else ()
        for p in range(n)
    ]
    seen = set(start)
    layers = [start]
    add = seen.add
    while len(layers) <= max_depth and layers[-1]:
        nxt = []
        append = nxt.append
        for key in layers[-1]:
            mask, player = divmod(key, n)
            for q, ahead in steps[player]:
                # the player stepped here from q (q must be free), pulling the box ahead of it if there is one
                if (mask >> q) & 1:
                    continue
                pred = mask * n + q
                if pred not in seen:
                    add(pred)
                    append(pred)
                if (mask >> ahead) & 1:
                    pred = ((mask ^ (1 << ahead)) | (1 << player)) * n + q
                    if pred not in seen:
                        add(pred)
                        append(pred)
        layers.append(nxt)  # complete: every state one move further from solved
        if len(seen) > max_states:
            break
        if budget is not None and len(seen) > budget and len(layers) <= max_depth and nxt:
            raise _OutOfBudget(len(seen), len(layers) - 1)
    return layers, len(seen)


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


__all__ = [
    "GENERATION_BUDGET",
    "GenerationError",
    "default_difficulty",
    "generate_level",
    "generated_task_id",
    "mask_of",
    "parse_generated_task_id",
]
