import pytest

from calendrical.dates import Date
from calendrical.ranges import DateRange, gaps, merge, month_range, total_days


def R(a, b):
    return DateRange(Date(2024, 1, a), Date(2024, 1, b))


def test_range_invalid():
    with pytest.raises(ValueError):
        R(5, 4)


def test_range_len_and_single_day():
    assert len(R(1, 10)) == 10
    assert len(R(3, 3)) == 1


def test_range_contains():
    assert Date(2024, 1, 1) in R(1, 3)
    assert Date(2024, 1, 3) in R(1, 3)
    assert Date(2024, 1, 4) not in R(1, 3)


def test_range_str_repr_eq():
    assert str(R(1, 2)) == "2024-01-01..2024-01-02"
    assert repr(R(1, 2)) == "DateRange(2024-01-01, 2024-01-02)"
    assert R(1, 2) == R(1, 2)
    assert R(1, 2) != R(1, 3)
    assert len({R(1, 2), R(1, 2)}) == 1


def test_days():
    assert [d.day for d in R(1, 4).days()] == [1, 2, 3, 4]
    assert [d.day for d in R(1, 8).days(step=3)] == [1, 4, 7]
    with pytest.raises(ValueError):
        R(1, 2).days(0)


def test_overlaps():
    assert R(1, 5).overlaps(R(5, 9))
    assert R(5, 9).overlaps(R(1, 5))
    assert not R(1, 4).overlaps(R(5, 9))
    assert R(1, 10).overlaps(R(3, 4))


def test_touches():
    assert R(1, 4).touches(R(5, 9))
    assert R(5, 9).touches(R(1, 4))
    assert not R(1, 3).touches(R(5, 9))


def test_intersection():
    assert R(1, 5).intersection(R(3, 9)) == R(3, 5)
    assert R(3, 9).intersection(R(1, 5)) == R(3, 5)
    assert R(1, 10).intersection(R(4, 6)) == R(4, 6)
    assert R(1, 2).intersection(R(3, 4)) is None


def test_union():
    assert R(1, 4).union(R(5, 9)) == R(1, 9)
    assert R(3, 9).union(R(1, 5)) == R(1, 9)
    with pytest.raises(ValueError):
        R(1, 3).union(R(5, 9))


def test_shift():
    assert str(R(30, 31).shift(2)) == "2024-02-01..2024-02-02"


def test_split_by_month():
    rng = DateRange(Date(2024, 1, 30), Date(2024, 3, 2))
    assert [str(p) for p in rng.split_by_month()] == [
        "2024-01-30..2024-01-31", "2024-02-01..2024-02-29", "2024-03-01..2024-03-02"]
    assert [str(p) for p in R(3, 4).split_by_month()] == ["2024-01-03..2024-01-04"]


def test_split_by_month_across_years():
    rng = DateRange(Date(2023, 12, 15), Date(2024, 1, 10))
    assert [str(p) for p in rng.split_by_month()] == ["2023-12-15..2023-12-31", "2024-01-01..2024-01-10"]


def test_merge_overlapping_and_adjacent():
    assert merge([R(8, 10), R(1, 3), R(2, 5), R(6, 6)]) == [R(1, 6), R(8, 10)]


def test_merge_without_adjacent():
    assert merge([R(1, 3), R(4, 5), R(5, 7)], adjacent=False) == [R(1, 3), R(4, 7)]


def test_merge_contained_and_empty():
    assert merge([R(1, 10), R(2, 3)]) == [R(1, 10)]
    assert merge([]) == []


def test_total_days():
    assert total_days([R(1, 5), R(3, 7), R(10, 10)]) == 8
    assert total_days([]) == 0


def test_gaps():
    within = R(1, 31)
    assert gaps([R(5, 9), R(20, 25)], within) == [R(1, 4), R(10, 19), R(26, 31)]


def test_gaps_edges():
    assert gaps([R(1, 9)], R(1, 20)) == [R(10, 20)]
    assert gaps([R(10, 31)], R(1, 20)) == [R(1, 9)]
    assert gaps([], R(1, 3)) == [R(1, 3)]
    assert gaps([R(1, 31)], R(5, 6)) == []


def test_gaps_ignores_outside_ranges():
    within = DateRange(Date(2024, 1, 10), Date(2024, 1, 20))
    outside = DateRange(Date(2023, 12, 1), Date(2023, 12, 5))
    assert gaps([outside, R(25, 28), R(12, 12)], within) == [R(10, 11), R(13, 20)]


def test_month_range():
    assert str(month_range(2024, 2)) == "2024-02-01..2024-02-29"
    assert len(month_range(2023, 2)) == 28
