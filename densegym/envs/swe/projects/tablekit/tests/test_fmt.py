from tablekit import fmt
from tablekit.table import Table


def sample():
    return Table(["item", "qty", "price", "ok"], [("apple", 3, 0.5, True), ("kiwi", 12, None, False)])


def test_cell_text_float_precision():
    assert fmt.cell_text(2.0) == "2.00"
    assert fmt.cell_text(2.0, precision=1) == "2.0"


def test_cell_text_none():
    assert fmt.cell_text(None) == "-"
    assert fmt.cell_text(None, null="") == ""


def test_cell_text_bool():
    assert fmt.cell_text(True) == "yes"
    assert fmt.cell_text(False) == "no"


def test_cell_text_int():
    assert fmt.cell_text(12) == "12"


def test_truncate_short():
    assert fmt.truncate("abc", 3) == "abc"


def test_truncate_long():
    assert fmt.truncate("abcdef", 4) == "abc~"


def test_truncate_zero():
    assert fmt.truncate("abc", 0) == ""


def test_truncate_custom_ellipsis():
    assert fmt.truncate("abcdef", 5, ellipsis="..") == "abc.."


def test_is_numeric():
    assert fmt.is_numeric([1, None, 2.5])
    assert not fmt.is_numeric([1, "2"])
    assert not fmt.is_numeric([True, 1])
    assert not fmt.is_numeric([None])


def test_column_widths():
    assert fmt.column_widths(sample()) == [5, 3, 5, 3]


def test_column_widths_max():
    assert fmt.column_widths(sample(), max_width=3) == [3, 3, 3, 3]


def test_render():
    expected = (
        "item  | qty | price | ok\n"
        "------+-----+-------+----\n"
        "apple |   3 |  0.50 | yes\n"
        "kiwi  |  12 |     - | no"
    )
    assert fmt.render(sample()) == expected


def test_render_precision():
    out = fmt.render(Table(["x"], [(1.25,)]), precision=1)
    assert out.splitlines()[2] == "1.2"


def test_render_max_width():
    out = fmt.render(Table(["word"], [("elephant",)]), max_width=4)
    assert out.splitlines()[2] == "ele~"


def test_render_custom_sep():
    out = fmt.render(Table(["a", "b"], [("x", "y")]), sep="  ")
    assert out == "a  b\n-  -\nx  y"


def test_render_records():
    assert fmt.render_records(sample()) == (
        " item: apple\n  qty: 3\nprice: 0.50\n   ok: yes\n\n item: kiwi\n  qty: 12\nprice: -\n   ok: no"
    )


def test_render_records_empty():
    assert fmt.render_records(Table(["a"])) == ""
