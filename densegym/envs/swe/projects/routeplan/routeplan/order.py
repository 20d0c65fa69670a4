"""Orderings of directed graphs."""


class CycleError(Exception):
    """Raised when a topological order is requested for a cyclic graph."""

    def __init__(self, cycle):
        super().__init__("cycle: %s" % " -> ".join(map(str, cycle)))
        self.cycle = cycle


def topological_sort(graph):
    """Kahn's algorithm; ties are broken by node insertion order."""
    indeg = {node: 0 for node in graph.nodes()}
    for _, v, _ in graph.edges():
        indeg[v] += 1
    ready = [node for node in graph.nodes() if indeg[node] == 0]
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for nbr in graph.neighbors(node):
            indeg[nbr] -= 1
            if indeg[nbr] == 0:
                ready.append(nbr)
    if len(order) != len(graph):
        raise CycleError(find_cycle(graph) or [])
    return order


def find_cycle(graph):
    """Return one cycle as a list of nodes (first node repeated) or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {node: WHITE for node in graph.nodes()}
    for root in graph.nodes():
        if color[root] != WHITE:
            continue
        stack = [(root, iter(graph.neighbors(root)))]
        path = [root]
        color[root] = GREY
        while stack:
            node, it = stack[-1]
            advanced = False
            for nbr in it:
                if color[nbr] == GREY:
                    start = path.index(nbr)
                    return path[start:] + [nbr]
                if color[nbr] == WHITE:
                    color[nbr] = GREY
                    path.append(nbr)
                    stack.append((nbr, iter(graph.neighbors(nbr))))
                    advanced = True
                    break
            if not advanced:
                color[node] = BLACK
                stack.pop()
                path.pop()
    return None


def is_dag(graph):
    return find_cycle(graph) is None


def strongly_connected_components(graph):
    """Kosaraju's algorithm; components in discovery order, nodes sorted
    by insertion order within each component."""
    position = {node: i for i, node in enumerate(graph.nodes())}
    visited = set()
    finish = []
    for root in graph.nodes():
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(graph.neighbors(root)))]
        while stack:
            node, it = stack[-1]
            pushed = False
            for nbr in it:
                if nbr not in visited:
                    visited.add(nbr)
                    stack.append((nbr, iter(graph.neighbors(nbr))))
                    pushed = True
                    break
            if not pushed:
                finish.append(node)
                stack.pop()
    rev = graph.reversed()
    assigned = set()
    comps = []
    for root in reversed(finish):
        if root in assigned:
            continue
        comp = []
        stack = [root]
        assigned.add(root)
        while stack:
            node = stack.pop()
            comp.append(node)
            for nbr in rev.neighbors(node):
                if nbr not in assigned:
                    assigned.add(nbr)
                    stack.append(nbr)
        comps.append(sorted(comp, key=position.get))
    return comps


def longest_path_length(graph):
    """Weight of the heaviest path in a DAG (0 for an edgeless graph)."""
    best = {node: 0 for node in graph.nodes()}
    for node in topological_sort(graph):
        for nbr in graph.neighbors(node):
            cand = best[node] + graph.weight(node, nbr)
            if cand > best[nbr]:
                best[nbr] = cand
    return max(best.values(), default=0)


def layers(graph):
    """Group a DAG's nodes by their longest hop distance from a source."""
    depth = {}
    for node in topological_sort(graph):
        preds = graph.predecessors(node)
        depth[node] = 1 + max((depth[p] for p in preds), default=-1)
    result = []
    for node, d in depth.items():
        while len(result) <= d:
            result.append([])
        result[d].append(node)
    return result
