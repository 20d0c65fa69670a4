"""Weighted graphs stored as adjacency dictionaries."""


class GraphError(Exception):
    """Raised for invalid graph operations."""


class Graph:
    """A weighted graph, directed or undirected.

    Nodes are any hashable values; they are kept in insertion order so
    that every algorithm in this package is deterministic.
    """

    def __init__(self, directed=False):
        self.directed = directed
        self._adj = {}

    def add_node(self, node):
        """Add ``node`` if it is not present yet."""
        if node not in self._adj:
            self._adj[node] = {}

    def add_edge(self, u, v, weight=1):
        """Add an edge from ``u`` to ``v`` (both ways if undirected)."""
        if weight < 0:
            raise GraphError("negative weight")
        self.add_node(u)
        self.add_node(v)
        self._adj[u][v] = weight
        if not self.directed:
            self._adj[v][u] = weight

    def remove_edge(self, u, v):
        """Remove the edge ``u``-``v``; raise GraphError when missing."""
        if not self.has_edge(u, v):
            raise GraphError("no edge %r -> %r" % (u, v))
        del self._adj[u][v]
        if not self.directed:
            del self._adj[v][u]

    def remove_node(self, node):
        """Remove ``node`` and every edge touching it."""
        if node not in self._adj:
            raise GraphError("no node %r" % (node,))
        del self._adj[node]
        for nbrs in self._adj.values():
            nbrs.pop(node, None)

    def has_node(self, node):
        return node in self._adj

    def has_edge(self, u, v):
        return u in self._adj and v in self._adj[u]

    def weight(self, u, v, default=None):
        """Weight of edge ``u``-``v`` or ``default`` when there is none."""
        if not self.has_edge(u, v):
            return default
        return self._adj[u][v]

    def nodes(self):
        return list(self._adj)

    def neighbors(self, node):
        """Successors of ``node`` in insertion order."""
        if node not in self._adj:
            raise GraphError("no node %r" % (node,))
        return list(self._adj[node])

    def predecessors(self, node):
        """Nodes with an edge into ``node``."""
        return [u for u, nbrs in self._adj.items() if node in nbrs]

    def edges(self):
        """List of ``(u, v, weight)``; undirected edges appear once."""
        result = []
        seen = set()
        for u, nbrs in self._adj.items():
            for v, w in nbrs.items():
                if not self.directed:
                    key = frozenset((u, v))
                    if key in seen:
                        continue
                    seen.add(key)
                result.append((u, v, w))
        return result

    def out_degree(self, node):
        return len(self.neighbors(node))

    def in_degree(self, node):
        return len(self.predecessors(node))

    def degree(self, node):
        """Number of incident edges; a self loop counts twice if undirected."""
        if self.directed:
            return self.out_degree(node) + self.in_degree(node)
        nbrs = self._adj.get(node)
        if nbrs is None:
            raise GraphError("no node %r" % (node,))
        return len(nbrs) + (1 if node in nbrs else 0)

    def total_weight(self):
        return sum(w for _, _, w in self.edges())

    def reversed(self):
        """A copy with every edge reversed (a plain copy if undirected)."""
        g = Graph(directed=self.directed)
        for node in self._adj:
            g.add_node(node)
        for u, v, w in self.edges():
            if self.directed:
                g.add_edge(v, u, w)
            else:
                g.add_edge(u, v, w)
        return g

    def __len__(self):
        return len(self._adj)

    def __contains__(self, node):
        return node in self._adj

    @classmethod
    def from_edges(cls, edges, directed=False):
        """Build a graph from ``(u, v)`` or ``(u, v, weight)`` tuples."""
        g = cls(directed=directed)
        for edge in edges:
            if len(edge) == 2:
                g.add_edge(edge[0], edge[1])
            elif len(edge) == 3:
                g.add_edge(edge[0], edge[1], edge[2])
            else:
                raise GraphError("bad edge %r" % (edge,))
        return g
