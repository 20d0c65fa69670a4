import pytest

from calendrical.dates import Date
from calendrical.fmt import (expand_year, format_date, humanize_days, ordinal_suffix, parse_date,
                             parse_iso, tokenize_pattern)


@pytest.mark.parametrize("n,expected", [
    (1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
    (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th"), (20, "20th"),
])
def test_ordinal_suffix(n, expected):
    assert ordinal_suffix(n) == expected


def test_tokenize_pattern():
    assert tokenize_pattern("YYYY-MM-DD") == ["YYYY", "-", "MM", "-", "DD"]
    assert tokenize_pattern("dddd, MMMM Do") == ["dddd", ", ", "MMMM", " ", "Do"]
    assert tokenize_pattern("D/M/YY") == ["D", "/", "M", "/", "YY"]
    assert tokenize_pattern("at ") == ["at "]


def test_format_iso_default():
    assert format_date(Date(2024, 3, 5)) == "2024-03-05"


def test_format_names():
    assert format_date(Date(2024, 3, 5), "dddd, MMMM Do YYYY") == "Tuesday, March 5th 2024"
    assert format_date(Date(2024, 9, 22), "ddd D MMM YY") == "Sun 22 Sep 24"


def test_format_unpadded():
    assert format_date(Date(2024, 3, 5), "D/M/YYYY") == "5/3/2024"
    assert format_date(Date(2007, 11, 25), "MM/DD/YY") == "11/25/07"


def test_expand_year():
    assert expand_year(24) == 2024
    assert expand_year(69) == 2069
    assert expand_year(70) == 1970
    assert expand_year(99, pivot=50) == 1999


def test_parse_date_default():
    assert str(parse_date("2024-03-05")) == "2024-03-05"
    with pytest.raises(ValueError):
        parse_date("2024-03-5")


def test_parse_date_names():
    assert str(parse_date("Tuesday, March 5th 2024", "dddd, MMMM Do YYYY")) == "2024-03-05"
    assert str(parse_date("22 sep 24", "D MMM YY")) == "2024-09-22"


def test_parse_date_unpadded():
    assert str(parse_date("5/3/2024", "D/M/YYYY")) == "2024-03-05"
    assert str(parse_date("15/12/1999", "D/M/YYYY")) == "1999-12-15"
    assert str(parse_date("01/02/75", "DD/MM/YY")) == "1975-02-01"


@pytest.mark.parametrize("text,pattern", [
    ("2024-3-05", "YYYY-MM-DD"),
    ("2024/03/05", "YYYY-MM-DD"),
    ("2024-03-05x", "YYYY-MM-DD"),
    ("Monday 2024-03-05", "dddd YYYY-MM-DD"),
    ("2024-03", "YYYY-MM"),
    ("Mar 2024", "MMM YYYY"),
    ("Foo 1 2024", "MMM D YYYY"),
    ("2024-02-30", "YYYY-MM-DD"),
])
def test_parse_date_errors(text, pattern):
    with pytest.raises(ValueError):
        parse_date(text, pattern)


def test_parse_iso_calendar_and_basic():
    assert str(parse_iso(" 2024-03-05 ")) == "2024-03-05"
    assert str(parse_iso("20240305")) == "2024-03-05"


def test_parse_iso_week():
    assert str(parse_iso("2024-W09-5")) == "2024-03-01"
    assert str(parse_iso("2025-W01")) == "2024-12-30"
    with pytest.raises(ValueError):
        parse_iso("2024-W9x")


def test_parse_iso_ordinal():
    assert str(parse_iso("2024-061")) == "2024-03-01"
    assert str(parse_iso("2023-365")) == "2023-12-31"
    assert str(parse_iso("2024-001")) == "2024-01-01"
    with pytest.raises(ValueError):
        parse_iso("2023-366")
    with pytest.raises(ValueError):
        parse_iso("2023-000")


@pytest.mark.parametrize("delta,expected", [
    (0, "today"), (1, "tomorrow"), (-1, "yesterday"), (3, "in 3 days"), (-13, "13 days ago"),
    (14, "in 2 weeks"), (-20, "2 weeks ago"), (59, "in 8 weeks"), (60, "in 2 months"),
    (45, "in 6 weeks"), (729, "in 24 months"), (730, "in 2 years"), (-400, "13 months ago"),
    (365 * 5, "in 5 years"), (-30 * 1 - 30, "2 months ago"),
])
def test_humanize_days(delta, expected):
    assert humanize_days(delta) == expected


def test_humanize_singular():
    assert humanize_days(7 * 2 + 0) == "in 2 weeks"
    assert humanize_days(-2) == "2 days ago"
