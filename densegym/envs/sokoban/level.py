"""Sokoban levels: the board, the Boxoban text format, and the move rules.

Cells are numbered ``row * width + column``. A state is encoded as one integer,
``key = boxes_mask * n_cells + player``, where bit ``i`` of ``boxes_mask`` is set when a box stands on
cell ``i``; the solver's hash tables then hold plain ints.

Boxoban format (DeepMind's ``boxoban-levels``): levels separated by lines starting with ``;``; ``#`` wall,
space floor, ``.`` goal, ``$`` box, ``*`` box on a goal, ``@`` player, ``+`` player on a goal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MOVES = ("up", "down", "left", "right")
_CHARS = {"#", " ", ".", "$", "*", "@", "+", "-", "_"}


@dataclass(frozen=True)
class Level:
    """An immutable Sokoban level. ``walls`` is a tuple of bools, one per cell, with a wall border."""

    height: int
    width: int
    walls: tuple[bool, ...]
    goals: tuple[int, ...]
    boxes: tuple[int, ...]
    player: int
    name: str = ""

    @property
    def n_cells(self) -> int:
        return self.height * self.width

    @property
    def deltas(self) -> tuple[int, int, int, int]:
        """Cell offsets of up, down, left, right."""
        return (-self.width, self.width, -1, 1)

    @property
    def goal_mask(self) -> int:
        return mask_of(self.goals)

    @property
    def start_key(self) -> int:
        return mask_of(self.boxes) * self.n_cells + self.player

    def to_text(self, boxes_mask: int | None = None, player: int | None = None, floor: str = " ") -> str:
        """The level (or the state given by ``boxes_mask`` / ``player``) in Boxoban characters."""
        mask = mask_of(self.boxes) if boxes_mask is None else boxes_mask
        me = self.player if player is None else player
        goals = set(self.goals)
        rows = []
        for r in range(self.height):
            row = []
            for c in range(self.width):
                i = r * self.width + c
                if self.walls[i]:
                    row.append("#")
                elif (mask >> i) & 1:
                    row.append("*" if i in goals else "$")
                elif i == me:
                    row.append("+" if i in goals else "@")
                else:
                    row.append("." if i in goals else floor)
            rows.append("".join(row))
        return "\n".join(rows)

    @classmethod
    def from_text(cls, text: str, name: str = "") -> Level:
        """Parse one level in Boxoban characters (``-`` and ``_`` are accepted as floor too).

        Raises ``ValueError`` with the reason for a malformed level. A level whose edge is not all
        wall is padded with a wall border so that no move can leave the board.
        """
        lines = [ln.rstrip("\r\n") for ln in text.splitlines() if ln.strip()]
        if not lines:
            raise ValueError("empty level")
        bad = {ch for ln in lines for ch in ln} - _CHARS
        if bad:
            raise ValueError(f"unknown characters in level: {''.join(sorted(bad))!r}")
        width = max(len(ln) for ln in lines)
        grid = [ln.ljust(width) for ln in lines]
        edge = grid[0] + grid[-1] + "".join(ln[0] + ln[-1] for ln in grid)
        if set(edge) != {"#"}:
            grid = ["#" * (width + 2)] + ["#" + ln + "#" for ln in grid] + ["#" * (width + 2)]
            width += 2
        height = len(grid)
        walls, goals, boxes, players = [], [], [], []
        for r, ln in enumerate(grid):
            for c, ch in enumerate(ln):
                i = r * width + c
                walls.append(ch == "#")
                if ch in ".*+":
                    goals.append(i)
                if ch in "$*":
                    boxes.append(i)
                if ch in "@+":
                    players.append(i)
        if len(players) != 1:
            raise ValueError(f"a level needs exactly one player (@ or +), found {len(players)}")
        if not boxes or len(boxes) != len(goals):
            raise ValueError(f"a level needs as many goals as boxes (>= 1); found {len(boxes)} boxes, {len(goals)} goals")
        if width * height > 1024:
            raise ValueError(f"level too large ({height}x{width}); at most 1024 cells")
        return cls(height, width, tuple(walls), tuple(goals), tuple(sorted(boxes)), players[0], name)


def mask_of(cells: tuple[int, ...] | list[int]) -> int:
    mask = 0
    for c in cells:
        mask |= 1 << c
    return mask


def cells_of(mask: int) -> list[int]:
    """The set bits of ``mask`` (the cells of a box mask), ascending; one iteration per set bit."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def parse_levels(text: str, source: str = "") -> list[Level]:
    """Parse a Boxoban-format file's text: levels separated by ``; name`` lines."""
    levels: list[Level] = []
    name, block = None, []

    def flush() -> None:
        if any(ln.strip() for ln in block):
            label = name if name is not None else str(len(levels))
            try:
                levels.append(Level.from_text("\n".join(block), name=f"{source}:{label}" if source else label))
            except ValueError as exc:
                raise ValueError(f"{source or 'levels'} level {label}: {exc}") from None

    for line in text.splitlines():
        if line.startswith(";"):
            flush()
            name, block = line[1:].strip(), []
        else:
            block.append(line)
    flush()
    return levels


def load_levels(path: str | Path) -> list[Level]:
    path = Path(path)
    return parse_levels(path.read_text(encoding="utf-8"), source=path.name)


def format_levels(levels: list[Level]) -> str:
    return "".join(f"; {lv.name or i}\n{lv.to_text()}\n\n" for i, lv in enumerate(levels))
