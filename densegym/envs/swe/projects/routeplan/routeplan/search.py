"""Traversals and shortest paths."""

import heapq
from collections import deque


def bfs(graph, start):
    """Nodes reachable from ``start`` in breadth-first order."""
    seen = {start}
    order = []
    queue = deque([start])
    while queue:
        node = queue.popleft()
        order.append(node)
        for nbr in graph.neighbors(node):
            if nbr not in seen:
                seen.add(nbr)
                queue.append(nbr)
    return order


def dfs(graph, start):
    """Nodes reachable from ``start`` in depth-first pre-order."""
    seen = set()
    order = []
    stack = [start]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        for nbr in reversed(graph.neighbors(node)):
            if nbr not in seen:
                stack.append(nbr)
    return order


def bfs_levels(graph, start, max_depth=None):
    """Map each reachable node to its hop count from ``start``."""
    levels = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        depth = levels[node]
        if max_depth is not None and depth >= max_depth:
            continue
        for nbr in graph.neighbors(node):
            if nbr not in levels:
                levels[nbr] = depth + 1
                queue.append(nbr)
    return levels


def fewest_hops(graph, start, goal):
    """A path with the fewest edges from ``start`` to ``goal`` or None."""
    parents = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            return reconstruct_path(parents, goal)
        for nbr in graph.neighbors(node):
            if nbr not in parents:
                parents[nbr] = node
                queue.append(nbr)
    return None


def reconstruct_path(parents, goal):
    """Follow ``parents`` links back from ``goal``; None if unreachable."""
    if goal not in parents:
        return None
    path = []
    node = goal
    while node is not None:
        path.append(node)
        node = parents[node]
    path.reverse()
    return path


def dijkstra(graph, source):
    """Return ``(dist, parents)`` of shortest paths from ``source``."""
    dist = {source: 0}
    parents = {source: None}
    counter = 0
    heap = [(0, counter, source)]
    done = set()
    while heap:
        d, _, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        for nbr in graph.neighbors(node):
            nd = d + graph.weight(node, nbr)
            if nbr not in dist or nd < dist[nbr]:
                dist[nbr] = nd
                parents[nbr] = node
                counter += 1
                heapq.heappush(heap, (nd, counter, nbr))
    return dist, parents


def shortest_path(graph, source, goal):
    """``(cost, path)`` of a cheapest path, or ``(None, None)``."""
    dist, parents = dijkstra(graph, source)
    if goal not in dist:
        return None, None
    return dist[goal], reconstruct_path(parents, goal)


def path_cost(graph, path):
    """Sum of edge weights along ``path``; None if an edge is missing."""
    total = 0
    for u, v in zip(path[:-1], path[1:]):
        w = graph.weight(u, v)
        if w is None:
            return None
        total += w
    return total


def reachable(graph, start, goal):
    return goal in set(bfs(graph, start))


def connected_components(graph):
    """Components of an undirected graph, each a list in BFS order."""
    seen = set()
    comps = []
    for node in graph.nodes():
        if node in seen:
            continue
        comp = bfs(graph, node)
        seen.update(comp)
        comps.append(comp)
    return comps


def eccentricity(graph, node):
    """Largest hop distance from ``node`` to a reachable node."""
    levels = bfs_levels(graph, node)
    return max(levels.values())
