import pytest

from tablekit.join import anti_join, inner_join, join, left_join, lookup
from tablekit.table import Table, TableError


def orders():
    return Table(["id", "cust", "total"], [(1, "c1", 50), (2, "c2", 20), (3, "c1", 5), (4, "c9", 8), (5, None, 1)])


def customers():
    return Table(["cust", "name", "total"], [("c1", "Ann", 100), ("c2", "Bob", 30), ("c3", "Cy", 0), (None, "Nobody", 0)])


def test_inner_join_rows():
    t = inner_join(orders(), customers(), "cust")
    assert t.column("id") == [1, 2, 3]


def test_inner_join_columns_with_suffix():
    t = inner_join(orders(), customers(), "cust")
    assert t.columns == ["id", "cust", "total", "name", "total_right"]


def test_custom_suffix():
    t = inner_join(orders(), customers(), "cust", suffix="_c")
    assert t.columns[-1] == "total_c"


def test_inner_join_values():
    t = inner_join(orders(), customers(), "cust")
    assert t.rows[1] == (2, "c2", 20, "Bob", 30)


def test_left_join_keeps_unmatched():
    t = left_join(orders(), customers(), "cust")
    assert len(t) == 5
    assert t.rows[3] == (4, "c9", 8, None, None)


def test_none_keys_never_match():
    t = left_join(orders(), customers(), "cust")
    assert t.rows[4] == (5, None, 1, None, None)


def test_join_multiple_matches():
    right = Table(["cust", "tag"], [("c1", "vip"), ("c1", "old")])
    t = inner_join(orders(), right, "cust")
    assert t.column("tag") == ["vip", "old", "vip", "old"]


def test_join_multi_key():
    a = Table(["x", "y", "v"], [(1, 1, "a"), (1, 2, "b")])
    b = Table(["x", "y", "w"], [(1, 2, "B"), (1, 1, "A")])
    assert join(a, b, ["x", "y"]).column("w") == ["A", "B"]


def test_join_unknown_how():
    with pytest.raises(TableError):
        join(orders(), customers(), "cust", how="outer")


def test_join_unknown_column():
    with pytest.raises(TableError):
        join(orders(), customers(), "zip")


def test_join_clash_after_suffix():
    a = Table(["k", "v", "v_right"], [])
    b = Table(["k", "v"], [])
    with pytest.raises(TableError):
        join(a, b, "k")


def test_anti_join():
    assert anti_join(orders(), customers(), "cust").column("id") == [4, 5]


def test_lookup_first_wins():
    t = Table(["k", "v"], [("a", 1), ("b", 2), ("a", 3)])
    assert lookup(t, "k", "v") == {"a": 1, "b": 2}


def test_lookup_default():
    t = Table(["k", "v"], [("a", None), ("b", 2)])
    assert lookup(t, "k", "v", default=0) == {"a": 0, "b": 2}
    assert lookup(t, "k", "v")["a"] is None
