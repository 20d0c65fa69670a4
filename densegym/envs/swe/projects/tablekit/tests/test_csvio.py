import pytest

from tablekit import csvio
from tablekit.table import Table, TableError


def test_split_simple():
    assert csvio.split_line("a,b,c") == ["a", "b", "c"]


def test_split_empty_fields():
    assert csvio.split_line(",x,") == ["", "x", ""]


def test_split_quoted_separator():
    assert csvio.split_line('"a,b",c') == ["a,b", "c"]


def test_split_doubled_quote():
    assert csvio.split_line('"say ""hi""",x') == ['say "hi"', "x"]


def test_split_quote_inside_field_is_literal():
    assert csvio.split_line('ab"c,d') == ['ab"c', "d"]


def test_split_other_separator():
    assert csvio.split_line("a;b", sep=";") == ["a", "b"]


def test_split_unterminated():
    with pytest.raises(TableError):
        csvio.split_line('"abc')


@pytest.mark.parametrize("text,value", [("12", 12), ("-3", -3), ("2.5", 2.5), ("TRUE", True), ("false", False),
                                        ("abc", "abc"), ("1e3", 1000.0)])
def test_infer(text, value):
    assert csvio.infer(text) == value


@pytest.mark.parametrize("text", ["", "NA", "null"])
def test_infer_nulls(text):
    assert csvio.infer(text) is None


def test_infer_custom_nulls():
    assert csvio.infer("NA", nulls=("-",)) == "NA"


def test_parse_header_and_types():
    t = csvio.parse("name,qty,price\nbolt,3,0.25\nnut,,1\n")
    assert t.columns == ["name", "qty", "price"]
    assert t.rows == [("bolt", 3, 0.25), ("nut", None, 1)]


def test_parse_skips_blank_lines():
    assert len(csvio.parse("a\n\n1\n  \n2\n")) == 2


def test_parse_no_header():
    t = csvio.parse("1,2\n3,4", header=False)
    assert t.columns == ["c1", "c2"]
    assert len(t) == 2


def test_parse_no_inference():
    assert csvio.parse("a\n007", infer_types=False).rows == [("007",)]


def test_parse_bad_field_count_line_number():
    with pytest.raises(TableError, match="line 3"):
        csvio.parse("a,b\n1,2\n3\n")


def test_parse_empty():
    assert csvio.parse("\n").columns == []


def test_format_value_plain():
    assert csvio.format_value(3.5) == "3.5"


def test_format_value_none_and_bools():
    assert csvio.format_value(None) == ""
    assert csvio.format_value(True) == "true"
    assert csvio.format_value(False) == "false"


def test_format_value_quotes():
    assert csvio.format_value('a "b", c') == '"a ""b"", c"'


def test_format_value_leading_space():
    assert csvio.format_value(" x") == '" x"'


def test_format_value_other_sep():
    assert csvio.format_value("a,b", sep=";") == "a,b"


def test_format_table():
    t = Table(["a", "b"], [(1, "x,y"), (None, True)])
    assert csvio.format_table(t) == 'a,b\n1,"x,y"\n,true\n'


def test_format_table_no_header():
    assert csvio.format_table(Table(["a"], [(1,)]), header=False) == "1\n"


def test_round_trip():
    text = 'id,label,score\n1,"hello, world",2.5\n2,"say ""x""",\n'
    assert csvio.format_table(csvio.parse(text)) == text


def test_column_types():
    t = csvio.parse("a,b,c,d,e,f\n1,1,x,true,,1\n2,2.5,y,false,,z\n")
    assert csvio.column_types(t) == {"a": "int", "b": "float", "c": "str", "d": "bool", "e": "empty", "f": "mixed"}
