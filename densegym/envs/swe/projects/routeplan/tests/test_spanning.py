import pytest

from routeplan.graph import Graph
from routeplan.spanning import UnionFind, kruskal, prim, spanning_graph, tree_weight


def weighted():
    return Graph.from_edges(
        [("a", "b", 4), ("a", "h", 8), ("b", "c", 8), ("b", "h", 11), ("c", "d", 7), ("c", "f", 4),
         ("c", "i", 2), ("d", "e", 9), ("d", "f", 14), ("e", "f", 10), ("f", "g", 2), ("g", "h", 1),
         ("g", "i", 6), ("h", "i", 7)]
    )


def test_union_find_union_and_connected():
    uf = UnionFind([1, 2, 3])
    assert uf.union(1, 2)
    assert uf.connected(1, 2)
    assert not uf.connected(1, 3)


def test_union_find_repeat_union_false():
    uf = UnionFind()
    uf.union("a", "b")
    assert uf.union("b", "a") is False


def test_union_find_count():
    uf = UnionFind(range(5))
    uf.union(0, 1)
    uf.union(3, 4)
    assert uf.count() == 3


def test_union_find_size_of():
    uf = UnionFind(range(5))
    uf.union(0, 1)
    uf.union(1, 2)
    assert uf.size_of(2) == 3
    assert uf.size_of(4) == 1


def test_union_find_larger_root_wins():
    uf = UnionFind(range(4))
    uf.union(0, 1)
    uf.union(2, 0)
    assert uf.find(2) == 0


def test_find_adds_new_item():
    uf = UnionFind()
    assert uf.find("new") == "new"
    assert uf.count() == 1


def test_kruskal_weight():
    assert tree_weight(kruskal(weighted())) == 37


def test_kruskal_edge_count():
    assert len(kruskal(weighted())) == 8


def test_kruskal_first_edges_sorted():
    tree = kruskal(weighted())
    assert tree[0] == ("h", "g", 1)
    assert [w for _, _, w in tree] == [1, 2, 2, 4, 4, 7, 8, 9]


def test_kruskal_forest():
    g = Graph.from_edges([(1, 2, 5), (3, 4, 2)])
    assert kruskal(g) == [(3, 4, 2), (1, 2, 5)]


def test_kruskal_rejects_directed():
    with pytest.raises(ValueError):
        kruskal(Graph(directed=True))


def test_prim_weight():
    assert tree_weight(prim(weighted())) == 37


def test_prim_first_edge():
    assert prim(weighted())[0] == ("a", "b", 4)


def test_prim_start():
    assert prim(weighted(), start="g")[0] == ("g", "h", 1)


def test_prim_component_only():
    g = Graph.from_edges([(1, 2, 5), (3, 4, 2)])
    assert prim(g) == [(1, 2, 5)]


def test_prim_empty():
    assert prim(Graph()) == []


def test_prim_rejects_directed():
    with pytest.raises(ValueError):
        prim(Graph(directed=True))


def test_spanning_graph():
    t = spanning_graph(weighted(), algorithm="prim")
    assert t.total_weight() == 37
    assert len(t) == 9


def test_spanning_graph_unknown():
    with pytest.raises(ValueError):
        spanning_graph(weighted(), algorithm="boruvka")
