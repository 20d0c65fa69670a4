import pytest

from routeplan.graph import Graph
from routeplan.order import (
    CycleError,
    find_cycle,
    is_dag,
    layers,
    longest_path_length,
    strongly_connected_components,
    topological_sort,
)


def dag():
    return Graph.from_edges(
        [("shirt", "tie", 1), ("tie", "jacket", 2), ("pants", "shoes", 1), ("pants", "belt", 1),
         ("belt", "jacket", 3), ("socks", "shoes", 1)],
        directed=True,
    )


def cyclic():
    return Graph.from_edges([(1, 2), (2, 3), (3, 1), (3, 4)], directed=True)


def test_topological_sort_order():
    assert topological_sort(dag()) == ["shirt", "pants", "socks", "tie", "belt", "shoes", "jacket"]


def test_topological_sort_respects_edges():
    order = topological_sort(dag())
    assert order.index("belt") < order.index("jacket")


def test_topological_sort_cycle_raises():
    with pytest.raises(CycleError):
        topological_sort(cyclic())


def test_cycle_error_carries_cycle():
    try:
        topological_sort(cyclic())
    except CycleError as exc:
        assert exc.cycle == [1, 2, 3, 1]
        assert str(exc) == "cycle: 1 -> 2 -> 3 -> 1"


def test_find_cycle_none_for_dag():
    assert find_cycle(dag()) is None


def test_find_cycle_self_loop():
    g = Graph(directed=True)
    g.add_edge("x", "x")
    assert find_cycle(g) == ["x", "x"]


def test_find_cycle_later_component():
    g = Graph.from_edges([("a", "b"), ("c", "d"), ("d", "e"), ("e", "d")], directed=True)
    assert find_cycle(g) == ["d", "e", "d"]


def test_is_dag():
    assert is_dag(dag())
    assert not is_dag(cyclic())


def test_scc_cyclic():
    assert strongly_connected_components(cyclic()) == [[1, 2, 3], [4]]


def test_scc_count_dag():
    assert len(strongly_connected_components(dag())) == 7


def test_scc_two_cycles():
    g = Graph.from_edges([("a", "b"), ("b", "a"), ("b", "c"), ("c", "d"), ("d", "c")], directed=True)
    assert strongly_connected_components(g) == [["a", "b"], ["c", "d"]]


def test_longest_path_length():
    assert longest_path_length(dag()) == 4


def test_longest_path_length_empty():
    assert longest_path_length(Graph(directed=True)) == 0


def test_layers():
    assert layers(dag()) == [["shirt", "pants", "socks"], ["tie", "belt", "shoes"], ["jacket"]]


def test_layers_chain():
    g = Graph.from_edges([(1, 2), (2, 3), (1, 3)], directed=True)
    assert layers(g) == [[1], [2], [3]]
