import pytest

from tablekit import aggregate as agg
from tablekit.table import Table, TableError


def sales():
    return Table(
        ["region", "rep", "amount"],
        [("north", "ann", 10), ("south", "bob", 4), ("north", "cid", 7), ("north", "ann", None), ("south", "dee", 9),
         ("east", "eve", 3)],
    )


def test_count_ignores_none():
    assert agg.count([1, None, 3]) == 2


def test_total():
    assert agg.total([1, None, 3]) == 4


def test_total_empty():
    assert agg.total([]) == 0


def test_mean():
    assert agg.mean([1, 2, None, 6]) == 3.0


def test_mean_empty():
    assert agg.mean([None]) is None


def test_minimum_maximum():
    assert agg.minimum([4, None, 2, 9]) == 2
    assert agg.maximum([4, None, 2, 9]) == 9


def test_min_max_empty():
    assert agg.minimum([]) is None
    assert agg.maximum([None]) is None


def test_median_odd():
    assert agg.median([5, 1, 3]) == 3


def test_median_even():
    assert agg.median([4, 1, 3, 10]) == 3.5


def test_median_empty():
    assert agg.median([]) is None


def test_median_single():
    assert agg.median([7]) == 7


def test_variance_sample():
    assert agg.variance([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(4.571428571)


def test_variance_population():
    assert agg.variance([2, 4, 4, 4, 5, 5, 7, 9], sample=False) == 4.0


def test_variance_too_few():
    assert agg.variance([3]) is None
    assert agg.variance([3], sample=False) == 0.0
    assert agg.variance([], sample=False) is None


def test_parse_spec():
    assert agg.parse_spec("sum( amount )") == ("sum", "amount")


def test_parse_spec_star():
    assert agg.parse_spec("count(*)") == ("count", None)


def test_parse_spec_star_only_count():
    with pytest.raises(TableError):
        agg.parse_spec("sum(*)")


def test_parse_spec_unknown():
    with pytest.raises(TableError):
        agg.parse_spec("mode(x)")


def test_parse_spec_malformed():
    with pytest.raises(TableError):
        agg.parse_spec("sum amount")


def test_group_by_sum():
    t = agg.group_by(sales(), "region", "sum(amount)")
    assert t.columns == ["region", "sum_amount"]
    assert t.rows == [("north", 17), ("south", 13), ("east", 3)]


def test_group_by_count_star_counts_none_rows():
    t = agg.group_by(sales(), "region", "count(*)", "count(amount)")
    assert t.rows[0] == ("north", 3, 2)


def test_group_by_mean():
    t = agg.group_by(sales(), "region", "mean(amount)")
    assert t.rows[1] == ("south", 6.5)


def test_group_by_several_keys():
    t = agg.group_by(sales(), ["region", "rep"], "max(amount)")
    assert len(t) == 5
    assert t.rows[0] == ("north", "ann", 10)


def test_group_by_median_min():
    t = agg.group_by(sales(), "region", "median(amount)", "min(amount)")
    assert t.rows[0] == ("north", 8.5, 7)


def test_summarize():
    s = agg.summarize(sales(), "amount")
    assert s["count"] == 5
    assert s["sum"] == 33
    assert s["median"] == 7


def test_running_total():
    t = agg.running_total(sales(), "amount")
    assert t.columns[-1] == "running_amount"
    assert t.column("running_amount") == [10, 14, 21, 21, 30, 33]


def test_running_total_name():
    assert agg.running_total(sales(), "amount", name="cum").columns[-1] == "cum"
