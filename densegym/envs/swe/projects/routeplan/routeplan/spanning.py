"""Minimum spanning trees and union-find."""

import heapq

from .graph import Graph


class UnionFind:
    """Disjoint sets with path compression and union by size."""

    def __init__(self, items=()):
        self._parent = {}
        self._size = {}
        for item in items:
            self.add(item)

    def add(self, item):
        if item not in self._parent:
            self._parent[item] = item
            self._size[item] = 1

    def find(self, item):
        """Representative of ``item``'s set (adding it if new)."""
        self.add(item)
        root = item
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[item] != root:
            nxt = self._parent[item]
            self._parent[item] = root
            item = nxt
        return root

    def union(self, a, b):
        """Merge the sets of ``a`` and ``b``; False if already joined."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]
        return True

    def connected(self, a, b):
        return self.find(a) == self.find(b)

    def size_of(self, item):
        return self._size[self.find(item)]

    def count(self):
        """Number of disjoint sets."""
        return sum(1 for item, parent in self._parent.items() if item == parent)


def kruskal(graph):
    """Edges ``(u, v, w)`` of a minimum spanning forest, sorted by weight."""
    if graph.directed:
        raise ValueError("kruskal needs an undirected graph")
    position = {node: i for i, node in enumerate(graph.nodes())}
    edges = sorted(graph.edges(), key=lambda e: (e[2], position[e[0]], position[e[1]]))
    uf = UnionFind(graph.nodes())
    tree = []
    for u, v, w in edges:
        if uf.union(u, v):
            tree.append((u, v, w))
            if len(tree) == len(graph) - 1:
                break
    return tree


def prim(graph, start=None):
    """Edges of a minimum spanning tree of ``start``'s component."""
    if graph.directed:
        raise ValueError("prim needs an undirected graph")
    nodes = graph.nodes()
    if not nodes:
        return []
    if start is None:
        start = nodes[0]
    position = {node: i for i, node in enumerate(nodes)}
    visited = {start}
    heap = []
    for nbr in graph.neighbors(start):
        heapq.heappush(heap, (graph.weight(start, nbr), position[nbr], start, nbr))
    tree = []
    while heap:
        w, _, u, v = heapq.heappop(heap)
        if v in visited:
            continue
        visited.add(v)
        tree.append((u, v, w))
        for nbr in graph.neighbors(v):
            if nbr not in visited:
                heapq.heappush(heap, (graph.weight(v, nbr), position[nbr], v, nbr))
    return tree


def tree_weight(edges):
    return sum(w for _, _, w in edges)


def spanning_graph(graph, algorithm="kruskal"):
    """Return the minimum spanning forest as a new Graph."""
    if algorithm == "kruskal":
        edges = kruskal(graph)
    elif algorithm == "prim":
        edges = prim(graph)
    else:
        raise ValueError("unknown algorithm %r" % algorithm)
    tree = Graph(directed=False)
    for node in graph.nodes():
        tree.add_node(node)
    for u, v, w in edges:
        tree.add_edge(u, v, w)
    return tree
