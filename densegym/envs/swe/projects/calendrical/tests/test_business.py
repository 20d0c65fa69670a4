import pytest

from calendrical.business import BusinessCalendar, easter, nth_weekday, observed, us_federal_holidays
from calendrical.dates import Date


@pytest.mark.parametrize("year,expected", [
    (2024, "2024-03-31"), (2025, "2025-04-20"), (2019, "2019-04-21"), (2000, "2000-04-23"), (2038, "2038-04-25"),
    (1954, "1954-04-18"), (1805, "1805-04-14"), (1707, "1707-04-24"),
])
def test_easter(year, expected):
    assert str(easter(year)) == expected


def test_nth_weekday_forward():
    assert str(nth_weekday(2024, 1, 0, 3)) == "2024-01-15"
    assert str(nth_weekday(2024, 11, 3, 4)) == "2024-11-28"
    assert str(nth_weekday(2024, 9, 0, 1)) == "2024-09-02"
    assert str(nth_weekday(2024, 6, 5, 1)) == "2024-06-01"


def test_nth_weekday_last():
    assert str(nth_weekday(2024, 5, 0, -1)) == "2024-05-27"
    assert str(nth_weekday(2024, 3, 6, -1)) == "2024-03-31"
    assert str(nth_weekday(2024, 3, 6, -2)) == "2024-03-24"


def test_nth_weekday_invalid():
    with pytest.raises(ValueError):
        nth_weekday(2024, 2, 4, 5)
    with pytest.raises(ValueError):
        nth_weekday(2024, 2, 3, 0)
    assert str(nth_weekday(2024, 2, 3, 5 - 1)) == "2024-02-22"


def test_observed():
    assert str(observed(Date(2021, 12, 25))) == "2021-12-24"
    assert str(observed(Date(2022, 12, 25))) == "2022-12-26"
    assert str(observed(Date(2024, 12, 25))) == "2024-12-25"


def test_us_federal_holidays():
    assert [str(d) for d in us_federal_holidays(2024)] == [
        "2024-01-01", "2024-01-15", "2024-02-19", "2024-05-27", "2024-06-19",
        "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"]


def test_us_federal_holidays_before_juneteenth():
    days = [str(d) for d in us_federal_holidays(2020)]
    assert len(days) == 8
    assert days[4] == "2020-07-03"


def test_calendar_rejects_all_weekend():
    with pytest.raises(ValueError):
        BusinessCalendar(weekend=range(7))


def test_is_business_day():
    cal = BusinessCalendar(holidays=[Date(2024, 7, 4)])
    assert cal.is_business_day(Date(2024, 7, 3))
    assert not cal.is_business_day(Date(2024, 7, 4))
    assert not cal.is_business_day(Date(2024, 7, 6))
    assert not cal.is_business_day(Date(2024, 7, 7))


def test_custom_weekend():
    cal = BusinessCalendar(weekend=(4, 5))
    assert cal.is_business_day(Date(2024, 7, 7))
    assert not cal.is_business_day(Date(2024, 7, 5))


def test_next_business_day():
    cal = BusinessCalendar(holidays=[Date(2024, 7, 4)])
    assert str(cal.next_business_day(Date(2024, 7, 3))) == "2024-07-05"
    assert str(cal.next_business_day(Date(2024, 7, 5))) == "2024-07-08"
    assert str(cal.next_business_day(Date(2024, 7, 8), forward=False)) == "2024-07-05"
    assert str(cal.next_business_day(Date(2024, 7, 5), forward=False)) == "2024-07-03"


def test_roll_conventions():
    cal = BusinessCalendar()
    sat = Date(2024, 8, 31)
    assert str(cal.roll(sat)) == "2024-09-02"
    assert str(cal.roll(sat, "preceding")) == "2024-08-30"
    assert str(cal.roll(sat, "modified_following")) == "2024-08-30"
    assert str(cal.roll(Date(2024, 8, 10), "modified_following")) == "2024-08-12"
    assert str(cal.roll(Date(2024, 8, 12), "preceding")) == "2024-08-12"
    with pytest.raises(ValueError):
        cal.roll(sat, "nearest")


def test_add_business_days():
    cal = BusinessCalendar(holidays=[Date(2024, 12, 25)])
    assert str(cal.add_business_days(Date(2024, 12, 23), 2)) == "2024-12-26"
    assert str(cal.add_business_days(Date(2024, 12, 20), 1)) == "2024-12-23"
    assert str(cal.add_business_days(Date(2024, 12, 26), -2)) == "2024-12-23"
    assert str(cal.add_business_days(Date(2024, 12, 21), 0)) == "2024-12-23"
    assert str(cal.add_business_days(Date(2024, 12, 20), 0)) == "2024-12-20"


def test_business_days_between():
    cal = BusinessCalendar(holidays=[Date(2024, 12, 25)])
    assert cal.business_days_between(Date(2024, 12, 23), Date(2024, 12, 30)) == 4
    assert cal.business_days_between(Date(2024, 12, 30), Date(2024, 12, 23)) == -4
    assert cal.business_days_between(Date(2024, 12, 23), Date(2024, 12, 23)) == 0
    assert cal.business_days_between(Date(2024, 12, 27), Date(2024, 12, 28)) == 1


def test_business_days_in_month():
    cal = BusinessCalendar(holidays=us_federal_holidays(2024))
    days = cal.business_days_in_month(2024, 2)
    assert len(days) == 20
    assert str(days[0]) == "2024-02-01"
    assert str(days[-1]) == "2024-02-29"


def test_next_business_day_gives_up():
    start = Date(2024, 1, 1)
    cal = BusinessCalendar(holidays=[start.add_days(i) for i in range(1, 400)])
    with pytest.raises(ValueError):
        cal.next_business_day(start)
    assert str(BusinessCalendar(holidays=[start.add_days(i) for i in range(1, 366)]).next_business_day(start)) == "2025-01-01"
