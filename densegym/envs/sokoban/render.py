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


class GridRenderer:
    """Renders a level's states fast: the static part (walls, goals, row and column numbers) is built
    once, and each state only overwrites the cells of its boxes and player."""

    def __init__(self, level: Level):
        self.level = level
        w = level.width
        label = len(str(level.height - 1))
        header = " " * (label + 1) + "".join(str(c % 10) for c in range(w))
        chars: list[str] = [header + "\n"]
        self.slot = {}  # cell -> index into chars
        goals = set(level.goals)
        for r in range(level.height):
            chars.append(f"{r:>{label}} ")
            for c in range(w):
                i = r * w + c
                self.slot[i] = len(chars)
                chars.append("#" if level.walls[i] else ("." if i in goals else "_"))
            chars.append("\n")
        chars[-1] = ""
        self.base = chars
        self.goals = goals

    def __call__(self, box_cells: list[int], player: int) -> str:
        chars = self.base.copy()
        goals, slot = self.goals, self.slot
        for b in box_cells:
            chars[slot[b]] = "*" if b in goals else "$"
        chars[slot[player]] = "+" if player in goals else "@"
        return "".join(chars)


def grid_text(level: Level, boxes_mask: int, player: int) -> str:
    """The grid with column numbers on top and row numbers on the left."""
    from densegym.envs.sokoban.level import cells_of

    return GridRenderer(level)(cells_of(boxes_mask), player)


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
