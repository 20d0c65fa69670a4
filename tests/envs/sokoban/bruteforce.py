"""An independent Sokoban solver for the tests: explicit states, full graph, no pruning, no bit tricks."""

from __future__ import annotations

import math
from collections import deque

DIRS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def parse(text: str):
    walls, goals, boxes, player = set(), set(), set(), None
    for r, line in enumerate(text.split("\n")):
        for c, ch in enumerate(line):
            if ch == "#":
                walls.add((r, c))
            if ch in ".*+":
                goals.add((r, c))
            if ch in "$*":
                boxes.add((r, c))
            if ch in "@+":
                player = (r, c)
    return walls, frozenset(goals), (player, frozenset(boxes))


def step(walls, state, direction):
    (r, c), boxes = state
    dr, dc = DIRS[direction]
    nxt = (r + dr, c + dc)
    if nxt in walls:
        return None
    if nxt in boxes:
        beyond = (nxt[0] + dr, nxt[1] + dc)
        if beyond in walls or beyond in boxes:
            return None
        return nxt, (boxes - {nxt}) | {beyond}
    return nxt, boxes


def all_distances(text: str) -> dict:
    """Optimal moves-to-solve for every state reachable from the start (inf when unsolvable)."""
    walls, goals, start = parse(text)
    graph, queue = {start: []}, deque([start])
    while queue:
        s = queue.popleft()
        for d in DIRS:
            t = step(walls, s, d)
            if t is not None:
                graph[s].append(t)
                if t not in graph:
                    graph[t] = []
                    queue.append(t)
    reverse = {s: [] for s in graph}
    for s, succs in graph.items():
        for t in succs:
            reverse[t].append(s)
    dist = {s: 0 for s in graph if s[1] == goals}
    queue = deque(dist)
    while queue:
        t = queue.popleft()
        for s in reverse[t]:
            if s not in dist:
                dist[s] = dist[t] + 1
                queue.append(s)
    return {s: dist.get(s, math.inf) for s in graph}
