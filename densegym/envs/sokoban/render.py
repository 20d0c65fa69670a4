"""Text and RGB renderings of a Sokoban state."""

from __future__ import annotations

import numpy as np

from densegym.envs.sokoban.level import Level

LEGEND = "# wall, _ floor, @ you, $ box, . goal, * box on a goal, + you on a goal"

_COLOURS = {
    "#": (90, 60, 40),
    "_": (235, 225, 200),
    ".": (235, 225, 200),
    "$": (200, 140, 40),
    "*": (60, 170, 60),
    "@": (40, 90, 200),
    "+": (40, 90, 200),
}


def grid_text(level: Level, boxes_mask: int, player: int) -> str:
    """The grid with column numbers on top and row numbers on the left."""
    rows = level.to_text(boxes_mask, player, floor="_").split("\n")
    width = len(str(level.height - 1))
    header = " " * (width + 1) + "".join(str(c % 10) for c in range(level.width))
    return "\n".join([header] + [f"{r:>{width}} {row}" for r, row in enumerate(rows)])


def rgb_array(level: Level, boxes_mask: int, player: int, tile: int = 16) -> np.ndarray:
    """An ``(height * tile, width * tile, 3)`` uint8 image: goals are framed, the player and boxes are squares."""
    chars = level.to_text(boxes_mask, player, floor="_").split("\n")
    img = np.zeros((level.height * tile, level.width * tile, 3), dtype=np.uint8)
    pad = tile // 5
    goals = set(level.goals)
    for r, row in enumerate(chars):
        for c, ch in enumerate(row):
            cell = img[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile]
            cell[:] = _COLOURS["_"] if ch != "#" else _COLOURS["#"]
            if r * level.width + c in goals:
                cell[:pad] = cell[-pad:] = cell[:, :pad] = cell[:, -pad:] = (220, 40, 40)
            if ch in "$*@+":
                cell[pad:-pad, pad:-pad] = _COLOURS[ch]
    return img
