import pytest

from calendrical.dates import (Date, day_of_year, days_before_year, days_in_month, days_in_year,
                               from_iso_week, from_ordinal, is_leap, to_ordinal, validate,
                               weekday, weeks_in_year)


@pytest.mark.parametrize("year,expected", [(2024, True), (2023, False), (1900, False), (2000, True), (2100, False)])
def test_is_leap(year, expected):
    assert is_leap(year) is expected


def test_days_in_year():
    assert days_in_year(2024) == 366
    assert days_in_year(2023) == 365


def test_days_in_month():
    assert days_in_month(2024, 2) == 29
    assert days_in_month(2023, 2) == 28
    assert days_in_month(2023, 4) == 30
    assert days_in_month(2023, 12) == 31
    assert days_in_month(2023, 1) == 31


def test_days_in_month_invalid():
    with pytest.raises(ValueError):
        days_in_month(2023, 13)
    with pytest.raises(ValueError):
        days_in_month(2023, 0)


def test_validate():
    validate(2024, 2, 29)
    validate(9999, 12, 31)
    with pytest.raises(ValueError):
        validate(2023, 2, 29)
    with pytest.raises(ValueError):
        validate(0, 1, 1)
    with pytest.raises(ValueError):
        validate(10000, 1, 1)
    with pytest.raises(ValueError):
        validate(2023, 1, 0)


def test_day_of_year():
    assert day_of_year(2023, 1, 1) == 1
    assert day_of_year(2023, 3, 1) == 60
    assert day_of_year(2024, 3, 1) == 61
    assert day_of_year(2024, 2, 29) == 60
    assert day_of_year(2024, 12, 31) == 366


def test_days_before_year():
    assert days_before_year(1) == 0
    assert days_before_year(2) == 365
    assert days_before_year(401) == 146097


def test_to_ordinal():
    assert to_ordinal(1, 1, 1) == 1
    assert to_ordinal(2024, 1, 1) == 738886
    assert to_ordinal(2000, 3, 1) == 730180


def test_from_ordinal():
    assert from_ordinal(1) == (1, 1, 1)
    assert from_ordinal(738886) == (2024, 1, 1)
    assert from_ordinal(738946) == (2024, 3, 1)
    assert from_ordinal(730179) == (2000, 2, 29)
    assert from_ordinal(146097) == (400, 12, 31)
    with pytest.raises(ValueError):
        from_ordinal(0)


def test_weekday():
    assert weekday(2024, 1, 1) == 0
    assert weekday(2024, 3, 3) == 6
    assert weekday(2000, 1, 1) == 5


def test_date_validation_and_str():
    assert str(Date(2024, 3, 5)) == "2024-03-05"
    assert str(Date(33, 12, 1)) == "0033-12-01"
    with pytest.raises(ValueError):
        Date(2023, 2, 29)


def test_date_ordering():
    assert Date(2024, 1, 31) < Date(2024, 2, 1)
    assert Date(2023, 12, 31) < Date(2024, 1, 1)
    assert max(Date(2024, 5, 1), Date(2024, 4, 30)) == Date(2024, 5, 1)


def test_date_weekday_methods():
    d = Date(2024, 3, 10)
    assert d.weekday() == 6
    assert d.isoweekday() == 7
    assert d.day_of_year() == 70
    assert d.ordinal() == 738955


def test_add_days():
    assert str(Date(2024, 2, 28).add_days(1)) == "2024-02-29"
    assert str(Date(2024, 2, 28).add_days(2)) == "2024-03-01"
    assert str(Date(2024, 1, 1).add_days(-1)) == "2023-12-31"
    assert str(Date(2024, 1, 1).add_days(366)) == "2025-01-01"


def test_add_months_clamps():
    assert str(Date(2024, 1, 31).add_months(1)) == "2024-02-29"
    assert str(Date(2023, 1, 31).add_months(1)) == "2023-02-28"
    assert str(Date(2024, 3, 31).add_months(-1)) == "2024-02-29"


def test_add_months_across_years():
    assert str(Date(2024, 11, 15).add_months(3)) == "2025-02-15"
    assert str(Date(2024, 1, 15).add_months(-1)) == "2023-12-15"
    assert str(Date(2024, 12, 1).add_months(-12)) == "2023-12-01"
    assert str(Date(2024, 5, 20).add_months(0)) == "2024-05-20"


def test_add_years():
    assert str(Date(2024, 2, 29).add_years(1)) == "2025-02-28"
    assert str(Date(2024, 2, 29).add_years(4)) == "2028-02-29"
    assert str(Date(2020, 7, 4).add_years(-3)) == "2017-07-04"


def test_subtract():
    assert Date(2024, 3, 1) - Date(2024, 2, 1) == 29
    assert Date(2024, 1, 1) - Date(2024, 12, 31) == -365


def test_month_bounds():
    assert str(Date(2024, 2, 10).start_of_month()) == "2024-02-01"
    assert str(Date(2024, 2, 10).end_of_month()) == "2024-02-29"
    assert str(Date(2023, 4, 10).end_of_month()) == "2023-04-30"


def test_start_of_week():
    assert str(Date(2024, 3, 7).start_of_week()) == "2024-03-04"
    assert str(Date(2024, 3, 4).start_of_week()) == "2024-03-04"
    assert str(Date(2024, 3, 7).start_of_week(6)) == "2024-03-03"
    assert str(Date(2024, 3, 3).start_of_week(6)) == "2024-03-03"


@pytest.mark.parametrize("ymd,expected", [
    ((2024, 1, 1), (2024, 1, 1)),
    ((2023, 1, 1), (2022, 52, 7)),
    ((2021, 1, 3), (2020, 53, 7)),
    ((2024, 12, 30), (2025, 1, 1)),
    ((2024, 3, 1), (2024, 9, 5)),
    ((2026, 12, 31), (2026, 53, 4)),
])
def test_iso_week(ymd, expected):
    assert Date(*ymd).iso_week() == expected


def test_quarter():
    assert Date(2024, 1, 1).quarter() == 1
    assert Date(2024, 3, 31).quarter() == 1
    assert Date(2024, 4, 1).quarter() == 2
    assert Date(2024, 12, 31).quarter() == 4


def test_from_iso_week():
    assert str(from_iso_week(2024, 9, 5)) == "2024-03-01"
    assert str(from_iso_week(2020, 53, 7)) == "2021-01-03"
    assert str(from_iso_week(2025, 1)) == "2024-12-30"


def test_from_iso_week_invalid():
    with pytest.raises(ValueError):
        from_iso_week(2024, 53)
    with pytest.raises(ValueError):
        from_iso_week(2024, 0)
    with pytest.raises(ValueError):
        from_iso_week(2024, 1, 8)


def test_weeks_in_year():
    assert weeks_in_year(2020) == 53
    assert weeks_in_year(2024) == 52
    assert weeks_in_year(2026) == 53
