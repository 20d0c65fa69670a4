from routeplan.graph import Graph
from routeplan import search


def sample():
    return Graph.from_edges(
        [("a", "b", 4), ("a", "c", 1), ("c", "b", 2), ("b", "d", 5), ("c", "d", 8), ("d", "e", 3)],
        directed=True,
    )


def chain():
    return Graph.from_edges([(1, 2), (2, 3), (3, 4), (1, 5)])


def test_bfs_order():
    assert "".join(search.bfs(sample(), "a")) == "abcde"


def test_bfs_from_leaf():
    assert search.bfs(sample(), "e") == ["e"]


def test_dfs_order():
    assert "".join(search.dfs(sample(), "a")) == "abdec"


def test_dfs_undirected_chain():
    assert search.dfs(chain(), 1) == [1, 2, 3, 4, 5]


def test_bfs_undirected_chain():
    assert search.bfs(chain(), 1) == [1, 2, 5, 3, 4]


def test_bfs_levels():
    levels = search.bfs_levels(chain(), 1)
    assert levels[4] == 3
    assert levels[5] == 1


def test_bfs_levels_max_depth():
    levels = search.bfs_levels(chain(), 1, max_depth=2)
    assert sorted(levels) == [1, 2, 3, 5]


def test_bfs_levels_max_depth_zero():
    assert search.bfs_levels(chain(), 1, max_depth=0) == {1: 0}


def test_fewest_hops():
    assert "".join(search.fewest_hops(sample(), "a", "e")) == "abde"


def test_fewest_hops_same_node():
    assert search.fewest_hops(sample(), "c", "c") == ["c"]


def test_fewest_hops_unreachable():
    assert search.fewest_hops(sample(), "e", "a") is None


def test_reconstruct_path_missing_goal():
    assert search.reconstruct_path({"a": None}, "b") is None


def test_reconstruct_path():
    assert search.reconstruct_path({"a": None, "b": "a", "c": "b"}, "c") == ["a", "b", "c"]


def test_dijkstra_distances():
    dist, _ = search.dijkstra(sample(), "a")
    assert dist["b"] == 3
    assert dist["d"] == 8
    assert dist["e"] == 11


def test_dijkstra_parents():
    _, parents = search.dijkstra(sample(), "a")
    assert parents["b"] == "c"
    assert parents["a"] is None


def test_shortest_path():
    cost, path = search.shortest_path(sample(), "a", "e")
    assert cost == 11
    assert "".join(path) == "acbde"


def test_shortest_path_prefers_cheaper_over_fewer_hops():
    cost, path = search.shortest_path(sample(), "a", "d")
    assert cost == 8
    assert len(path) == 4


def test_shortest_path_unreachable():
    assert search.shortest_path(sample(), "d", "a") == (None, None)


def test_shortest_path_to_self():
    assert search.shortest_path(sample(), "b", "b") == (0, ["b"])


def test_shortest_path_zero_weights():
    g = Graph.from_edges([("a", "b", 0), ("b", "c", 0), ("a", "c", 1)])
    assert search.shortest_path(g, "a", "c")[0] == 0


def test_path_cost():
    assert search.path_cost(sample(), ["a", "c", "b", "d"]) == 8


def test_path_cost_missing_edge():
    assert search.path_cost(sample(), ["a", "d"]) is None


def test_path_cost_single_node():
    assert search.path_cost(sample(), ["a"]) == 0


def test_reachable():
    assert search.reachable(sample(), "a", "e")
    assert not search.reachable(sample(), "e", "a")


def test_connected_components():
    g = chain()
    g.add_edge(7, 8)
    g.add_node(9)
    assert search.connected_components(g) == [[1, 2, 5, 3, 4], [7, 8], [9]]


def test_eccentricity():
    assert search.eccentricity(chain(), 1) == 3
    assert search.eccentricity(chain(), 4) == 4
