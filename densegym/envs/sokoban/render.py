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
    once as ASCII bytes, and each state copies it and overwrites the bytes of its boxes and player."""

    def __init__(self, level: Level):
        self.level = level
        w = level.width
        label = len(str(level.height - 1))
        header = " " * (label + 1) + "".join(str(c % 10) for c in range(w))
        parts: list[str] = [header, "\n"]
        offset = len(header) + 1
        slot = [-1] * level.n_cells  # cell -> byte offset in the rendering
        goals = set(level.goals)
        for r in range(level.height):
            row = f"{r:>{label}} "
            offset += len(row)
            parts.append(row)
            for c in range(w):
                i = r * w + c
                slot[i] = offset
                offset += 1
                parts.append("#" if level.walls[i] else ("." if i in goals else "_"))
            parts.append("\n")
            offset += 1
        parts.pop()  # no newline after the last row
        self.base = "".join(parts).encode("ascii")
        self.slot = tuple(slot)
        self.goals = goals
        self.box_char = tuple(ord("*") if i in goals else ord("$") for i in range(level.n_cells))
        self.player_char = tuple(ord("+") if i in goals else ord("@") for i in range(level.n_cells))

    def __call__(self, box_cells: list[int], player: int) -> str:
        buf = bytearray(self.base)
        slot, box = self.slot, self.box_char
        for b in box_cells:
            buf[slot[b]] = box[b]
        buf[slot[player]] = self.player_char[player]
        return buf.decode("ascii")


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
