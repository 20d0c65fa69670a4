"""Grid maps parsed from text and A* search on them."""

import heapq

WALL = "#"
OPEN = "."


class GridMap:
    """A rectangular map of cells; ``#`` cells are walls.

    Digits 1-9 mark open cells with that movement cost; ``S`` and ``G``
    mark the start and goal and cost 1 like ``.``.
    """

    def __init__(self, rows):
        if not rows:
            raise ValueError("empty grid")
        width = len(rows[0])
        for row in rows:
            if len(row) != width:
                raise ValueError("ragged grid")
        self.rows = list(rows)
        self.height = len(rows)
        self.width = width

    @classmethod
    def parse(cls, text):
        """Build a grid from text, ignoring blank lines and outer spaces."""
        rows = [line.strip() for line in text.splitlines()]
        return cls([row for row in rows if row])

    def in_bounds(self, pos):
        r, c = pos
        return 0 <= r < self.height and 0 <= c < self.width

    def cell(self, pos):
        r, c = pos
        return self.rows[r][c]

    def passable(self, pos):
        return self.in_bounds(pos) and self.cell(pos) != WALL

    def cost(self, pos):
        """Cost of entering ``pos``."""
        ch = self.cell(pos)
        if ch.isdigit():
            return int(ch)
        return 1

    def find(self, ch):
        """First position holding ``ch`` in row-major order, or None."""
        for r, row in enumerate(self.rows):
            c = row.find(ch)
            if c >= 0:
                return (r, c)
        return None

    def neighbors(self, pos, diagonal=False):
        """Passable neighbours: up, down, left, right (then diagonals)."""
        r, c = pos
        steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
        if diagonal:
            steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
        result = []
        for dr, dc in steps:
            nxt = (r + dr, c + dc)
            if self.passable(nxt):
                result.append(nxt)
        return result

    def count(self, ch):
        return sum(row.count(ch) for row in self.rows)

    def render(self, path=(), mark="*"):
        """Text of the grid with ``path`` cells (except S/G) replaced by mark."""
        cells = [list(row) for row in self.rows]
        for r, c in path:
            if cells[r][c] not in "SG":
                cells[r][c] = mark
        return "\n".join("".join(row) for row in cells)


def manhattan(a, b):
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def chebyshev(a, b):
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def astar(grid, start=None, goal=None, diagonal=False):
    """Cheapest path from start to goal as ``(cost, path)``.

    ``start``/``goal`` default to the ``S``/``G`` cells. Returns
    ``(None, None)`` when the goal cannot be reached.
    """
    if start is None:
        start = grid.find("S")
    if goal is None:
        goal = grid.find("G")
    if start is None or goal is None:
        raise ValueError("start and goal are required")
    if not grid.passable(start) or not grid.passable(goal):
        return None, None
    heuristic = chebyshev if diagonal else manhattan
    g = {start: 0}
    parents = {start: None}
    heap = [(heuristic(start, goal), 0, start)]
    closed = set()
    while heap:
        _, cost, pos = heapq.heappop(heap)
        if pos == goal:
            path = []
            while pos is not None:
                path.append(pos)
                pos = parents[pos]
            return cost, path[::-1]
        if pos in closed:
            continue
        closed.add(pos)
        for nxt in grid.neighbors(pos, diagonal=diagonal):
            nc = cost + grid.cost(nxt)
            if nxt not in g or nc < g[nxt]:
                g[nxt] = nc
                parents[nxt] = pos
                heapq.heappush(heap, (nc + heuristic(nxt, goal), nc, nxt))
    return None, None


def flood_fill(grid, start):
    """Number of passable cells reachable from ``start`` (4-connected)."""
    if not grid.passable(start):
        return 0
    seen = {start}
    stack = [start]
    while stack:
        pos = stack.pop()
        for nxt in grid.neighbors(pos):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return len(seen)
