import pytest

from routeplan.grid import GridMap, astar, chebyshev, flood_fill, manhattan

MAZE = """
S..#....
.#.#.##.
.#...#..
.####.#.
......#G
"""

WEIGHTED = """
S9.
.9.
...
..G
"""


def test_parse_dimensions():
    g = GridMap.parse(MAZE)
    assert g.height == 5
    assert g.width == 8


def test_ragged_rejected():
    with pytest.raises(ValueError):
        GridMap(["..", "."])


def test_empty_rejected():
    with pytest.raises(ValueError):
        GridMap.parse("\n\n")


def test_find():
    g = GridMap.parse(MAZE)
    assert g.find("G") == (4, 7)
    assert g.find("X") is None


def test_in_bounds():
    g = GridMap.parse(MAZE)
    assert g.in_bounds((4, 7))
    assert not g.in_bounds((5, 0))
    assert not g.in_bounds((0, -1))


def test_passable():
    g = GridMap.parse(MAZE)
    assert not g.passable((0, 3))
    assert g.passable((0, 2))


def test_neighbors_corner():
    g = GridMap.parse(MAZE)
    assert g.neighbors((0, 0)) == [(1, 0), (0, 1)]


def test_neighbors_diagonal():
    g = GridMap.parse("...\n...\n...")
    assert len(g.neighbors((1, 1), diagonal=True)) == 8
    assert len(g.neighbors((0, 0), diagonal=True)) == 3


def test_cost_digits():
    g = GridMap.parse(WEIGHTED)
    assert g.cost((0, 1)) == 9
    assert g.cost((0, 2)) == 1


def test_count():
    assert GridMap.parse(MAZE).count("#") == 13


def test_manhattan():
    assert manhattan((0, 0), (3, -4)) == 7


def test_chebyshev():
    assert chebyshev((1, 1), (4, -1)) == 3


def test_astar_maze_cost():
    cost, path = astar(GridMap.parse(MAZE))
    assert cost == 15
    assert path[0] == (0, 0)
    assert path[-1] == (4, 7)


def test_astar_path_length_matches_cost():
    cost, path = astar(GridMap.parse(MAZE))
    assert len(path) == 16


def test_astar_weighted_avoids_expensive():
    cost, path = astar(GridMap.parse(WEIGHTED))
    assert cost == 5
    assert (0, 1) not in path


def test_astar_diagonal():
    cost, _ = astar(GridMap.parse("S...\n....\n...G"), diagonal=True)
    assert cost == 3


def test_astar_blocked():
    assert astar(GridMap.parse("S#G")) == (None, None)


def test_astar_start_is_wall():
    assert astar(GridMap.parse("#.G"), start=(0, 0)) == (None, None)


def test_astar_missing_goal():
    with pytest.raises(ValueError):
        astar(GridMap.parse("S.."))


def test_astar_explicit_endpoints():
    cost, path = astar(GridMap.parse("....\n...."), start=(0, 0), goal=(1, 3))
    assert cost == 4


def test_render_path():
    g = GridMap.parse("S..\n..G")
    _, path = astar(g)
    assert g.render(path) == "S**\n..G"


def test_render_custom_mark():
    g = GridMap.parse("S.G")
    assert g.render([(0, 0), (0, 1), (0, 2)], mark="o") == "SoG"


def test_flood_fill():
    g = GridMap.parse("..#.\n..#.\n##..")
    assert flood_fill(g, (0, 0)) == 4
    assert flood_fill(g, (0, 3)) == 4


def test_flood_fill_wall():
    assert flood_fill(GridMap.parse(".#."), (0, 1)) == 0
