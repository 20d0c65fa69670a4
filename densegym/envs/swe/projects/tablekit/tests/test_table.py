import pytest

from tablekit.table import Table, TableError


def people():
    return Table(
        ["name", "city", "age"],
        [("ann", "oslo", 31), ("bob", "rome", 25), ("cid", "oslo", 40), ("dee", None, 25), ("eve", "rome", None)],
    )


def test_len():
    assert len(people()) == 5


def test_duplicate_columns():
    with pytest.raises(TableError):
        Table(["a", "a"])


def test_row_length_checked():
    with pytest.raises(TableError):
        Table(["a", "b"], [(1,)])


def test_from_dicts_column_order():
    t = Table.from_dicts([{"a": 1}, {"b": 2, "a": 3}])
    assert t.columns == ["a", "b"]
    assert t.rows == [(1, None), (3, 2)]


def test_from_dicts_explicit_columns():
    t = Table.from_dicts([{"a": 1, "b": 2}], columns=["b"])
    assert t.rows == [(2,)]


def test_to_dicts():
    assert people().to_dicts()[1] == {"name": "bob", "city": "rome", "age": 25}


def test_equality():
    assert people() == people()
    assert people() != people().select("name")


def test_index_unknown():
    with pytest.raises(TableError):
        people().index("zip")


def test_column():
    assert people().column("age") == [31, 25, 40, 25, None]


def test_select_order():
    t = people().select("age", "name")
    assert t.columns == ["age", "name"]
    assert t.rows[0] == (31, "ann")


def test_rename():
    assert people().rename("city", "town").columns == ["name", "town", "age"]


def test_where_keyword():
    assert people().where(city="oslo").column("name") == ["ann", "cid"]


def test_where_predicate():
    t = people().where(lambda r: r["age"] is not None and r["age"] > 30)
    assert t.column("name") == ["ann", "cid"]


def test_where_both():
    t = people().where(lambda r: r["age"] == 25, city="rome")
    assert t.column("name") == ["bob"]


def test_where_none_value():
    assert people().where(city=None).column("name") == ["dee"]


def test_where_unknown_column():
    with pytest.raises(TableError):
        people().where(zip=1)


def test_sort_single():
    assert people().sort("age").column("name") == ["eve", "bob", "dee", "ann", "cid"]


def test_sort_descending():
    assert people().sort("-age").column("name") == ["cid", "ann", "bob", "dee", "eve"]


def test_sort_multiple_keys():
    assert people().sort("city", "-age").column("name") == ["dee", "cid", "ann", "bob", "eve"]


def test_sort_stable():
    assert people().sort("age").column("name")[1:3] == ["bob", "dee"]


def test_sort_mixed_types():
    t = Table(["v"], [("b",), (2,), (None,), (1.5,), ("a",)])
    assert t.sort("v").column("v") == [None, 1.5, 2, "a", "b"]


def test_limit():
    assert people().limit(2).column("name") == ["ann", "bob"]


def test_limit_offset():
    assert people().limit(2, offset=3).column("name") == ["dee", "eve"]


def test_limit_past_end():
    assert len(people().limit(10, offset=4)) == 1


def test_limit_negative():
    with pytest.raises(TableError):
        people().limit(-1)


def test_head_default():
    assert len(people().head()) == 5
    assert len(people().head(3)) == 3


def test_add_column():
    t = people().add_column("initial", lambda r: r["name"][0])
    assert t.columns[-1] == "initial"
    assert t.rows[2] == ("cid", "oslo", 40, "c")


def test_add_column_existing():
    with pytest.raises(TableError):
        people().add_column("age", lambda r: 0)


def test_distinct_columns():
    assert people().distinct("city").column("city") == ["oslo", "rome", None]


def test_distinct_all():
    t = Table(["a"], [(1,), (1,), (2,)])
    assert len(t.distinct()) == 2


def test_concat():
    assert len(people().concat(people())) == 10


def test_concat_mismatch():
    with pytest.raises(TableError):
        people().concat(people().select("name"))
