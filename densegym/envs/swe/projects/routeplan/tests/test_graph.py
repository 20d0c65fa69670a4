import pytest

from routeplan.graph import Graph, GraphError


def make_undirected():
    return Graph.from_edges([("a", "b", 2), ("b", "c", 3), ("a", "c", 7), ("c", "d", 1)])


def make_directed():
    return Graph.from_edges([("a", "b", 2), ("b", "c", 3), ("a", "c", 7)], directed=True)


def test_add_edge_undirected_both_ways():
    g = make_undirected()
    assert g.has_edge("b", "a")


def test_add_edge_directed_one_way():
    g = make_directed()
    assert g.has_edge("a", "b")
    assert not g.has_edge("b", "a")


def test_default_weight_is_one():
    g = Graph()
    g.add_edge("x", "y")
    assert g.weight("x", "y") == 1


def test_negative_weight_rejected():
    with pytest.raises(GraphError):
        Graph().add_edge("a", "b", -1)


def test_zero_weight_allowed():
    g = Graph()
    g.add_edge("a", "b", 0)
    assert g.weight("a", "b") == 0


def test_weight_missing_default():
    g = make_undirected()
    assert g.weight("a", "d") is None
    assert g.weight("a", "d", default=99) == 99


def test_nodes_in_insertion_order():
    g = make_undirected()
    assert "".join(g.nodes()) == "abcd"


def test_neighbors_order():
    g = make_undirected()
    assert "".join(g.neighbors("c")) == "bad"


def test_neighbors_unknown_node():
    with pytest.raises(GraphError):
        make_undirected().neighbors("z")


def test_predecessors_directed():
    g = make_directed()
    assert "".join(g.predecessors("c")) == "ab"


def test_edges_undirected_listed_once():
    g = make_undirected()
    assert len(g.edges()) == 4


def test_edges_directed():
    g = make_directed()
    assert g.edges() == [("a", "b", 2), ("a", "c", 7), ("b", "c", 3)]


def test_degree_undirected():
    g = make_undirected()
    assert g.degree("c") == 3


def test_degree_self_loop_counts_twice():
    g = Graph()
    g.add_edge("a", "a")
    g.add_edge("a", "b")
    assert g.degree("a") == 3


def test_degree_directed_in_plus_out():
    g = make_directed()
    assert g.degree("b") == 2
    assert g.in_degree("c") == 2
    assert g.out_degree("a") == 2


def test_degree_unknown_node():
    with pytest.raises(GraphError):
        Graph().degree("q")


def test_total_weight():
    assert make_undirected().total_weight() == 13


def test_remove_edge_undirected():
    g = make_undirected()
    g.remove_edge("b", "a")
    assert not g.has_edge("a", "b")
    assert len(g.edges()) == 3


def test_remove_missing_edge():
    with pytest.raises(GraphError):
        make_directed().remove_edge("b", "a")


def test_remove_node():
    g = make_undirected()
    g.remove_node("c")
    assert len(g) == 3
    assert g.edges() == [("a", "b", 2)]


def test_remove_unknown_node():
    with pytest.raises(GraphError):
        make_undirected().remove_node("z")


def test_reversed_directed():
    r = make_directed().reversed()
    assert r.has_edge("c", "a")
    assert not r.has_edge("a", "c")
    assert r.weight("c", "b") == 3


def test_reversed_keeps_isolated_node():
    g = make_directed()
    g.add_node("z")
    assert len(g.reversed()) == 4


def test_contains_and_len():
    g = make_undirected()
    assert "d" in g
    assert "e" not in g
    assert len(g) == 4


def test_from_edges_bad_tuple():
    with pytest.raises(GraphError):
        Graph.from_edges([("a",)])


def test_add_node_idempotent():
    g = make_undirected()
    g.add_node("a")
    assert g.degree("a") == 2
