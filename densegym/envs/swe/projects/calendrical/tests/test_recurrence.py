import pytest

from calendrical.dates import Date
from calendrical.recurrence import Rule, format_rule, next_occurrence, occurrences, parse_rule, parse_until


def iso(dates):
    return [str(d) for d in dates]


def test_rule_validation():
    with pytest.raises(ValueError):
        Rule("HOURLY")
    with pytest.raises(ValueError):
        Rule("DAILY", interval=0)
    with pytest.raises(ValueError):
        Rule("DAILY", count=0)
    with pytest.raises(ValueError):
        Rule("DAILY", count=2, until=Date(2024, 1, 1))
    with pytest.raises(ValueError):
        Rule("MONTHLY", bymonthday=[0])
    with pytest.raises(ValueError):
        Rule("MONTHLY", bymonthday=[32])


def test_rule_normalises():
    rule = Rule("weekly", byweekday=[4, 0, 4])
    assert rule.freq == "WEEKLY"
    assert rule.byweekday == (0, 4)


def test_parse_until():
    assert str(parse_until("20240229")) == "2024-02-29"
    with pytest.raises(ValueError):
        parse_until("2024-02-29")


def test_parse_rule_all_parts():
    rule = parse_rule("freq=weekly;interval=2;count=4;byday=mo,we")
    assert (rule.freq, rule.interval, rule.count, rule.byweekday) == ("WEEKLY", 2, 4, (0, 2))


def test_parse_rule_until_and_monthday():
    rule = parse_rule("FREQ=MONTHLY;UNTIL=20241231;BYMONTHDAY=1,-1;")
    assert str(rule.until) == "2024-12-31"
    assert rule.bymonthday == (1, -1)
    assert rule.interval == 1


@pytest.mark.parametrize("text", [
    "INTERVAL=2", "FREQ=DAILY;FREQ=WEEKLY", "FREQ=DAILY;BYDAY=XX", "FREQ=DAILY;BYHOUR=3", "FREQ=DAILY;COUNT",
])
def test_parse_rule_errors(text):
    with pytest.raises(ValueError):
        parse_rule(text)


def test_format_rule_round_trip():
    text = "FREQ=WEEKLY;INTERVAL=2;UNTIL=20240301;BYDAY=TU,TH"
    assert format_rule(parse_rule(text)) == text
    assert str(Rule("MONTHLY", count=3, bymonthday=[-1])) == "FREQ=MONTHLY;COUNT=3;BYMONTHDAY=-1"
    assert str(Rule("DAILY")) == "FREQ=DAILY"


def test_daily_count():
    assert iso(occurrences(Rule("DAILY", count=3), Date(2024, 2, 28))) == ["2024-02-28", "2024-02-29", "2024-03-01"]


def test_daily_interval_until():
    rule = Rule("DAILY", interval=3, until=Date(2024, 1, 10))
    assert iso(occurrences(rule, Date(2024, 1, 1))) == ["2024-01-01", "2024-01-04", "2024-01-07", "2024-01-10"]


def test_daily_byweekday():
    rule = Rule("DAILY", count=4, byweekday=[0, 4])
    assert iso(occurrences(rule, Date(2024, 3, 1))) == ["2024-03-01", "2024-03-04", "2024-03-08", "2024-03-11"]


def test_weekly_default_weekday():
    rule = Rule("WEEKLY", count=3)
    assert iso(occurrences(rule, Date(2024, 3, 6))) == ["2024-03-06", "2024-03-13", "2024-03-20"]


def test_weekly_byday_skips_before_start():
    rule = Rule("WEEKLY", count=4, byweekday=[0, 2])
    assert iso(occurrences(rule, Date(2024, 3, 6))) == ["2024-03-06", "2024-03-11", "2024-03-13", "2024-03-18"]


def test_weekly_interval():
    rule = Rule("WEEKLY", interval=2, count=3, byweekday=[1])
    assert iso(occurrences(rule, Date(2024, 3, 4))) == ["2024-03-05", "2024-03-19", "2024-04-02"]


def test_monthly_skips_short_months():
    rule = Rule("MONTHLY", count=4)
    assert iso(occurrences(rule, Date(2024, 1, 31))) == ["2024-01-31", "2024-03-31", "2024-05-31", "2024-07-31"]


def test_monthly_last_day():
    rule = Rule("MONTHLY", count=3, bymonthday=[-1])
    assert iso(occurrences(rule, Date(2024, 1, 15))) == ["2024-01-31", "2024-02-29", "2024-03-31"]


def test_monthly_several_days_interval():
    rule = Rule("MONTHLY", interval=3, count=4, bymonthday=[15, 1])
    assert iso(occurrences(rule, Date(2024, 1, 10))) == ["2024-01-15", "2024-04-01", "2024-04-15", "2024-07-01"]


def test_monthly_with_weekday_filter():
    rule = Rule("MONTHLY", count=2, bymonthday=[13], byweekday=[4])
    assert iso(occurrences(rule, Date(2024, 1, 1))) == ["2024-09-13", "2024-12-13"]


def test_yearly_leap_day():
    rule = Rule("YEARLY", count=2)
    assert iso(occurrences(rule, Date(2024, 2, 29))) == ["2024-02-29", "2028-02-29"]
    assert iso(occurrences(Rule("YEARLY", interval=2, count=2), Date(2023, 6, 1))) == ["2023-06-01", "2025-06-01"]


def test_limit():
    assert len(occurrences(Rule("DAILY"), Date(2024, 1, 1), limit=5)) == 5
    assert len(occurrences(Rule("DAILY", count=3), Date(2024, 1, 1), limit=10)) == 3
    assert len(occurrences(Rule("DAILY", count=30), Date(2024, 1, 1), limit=10)) == 10
    with pytest.raises(ValueError):
        occurrences(Rule("DAILY"), Date(2024, 1, 1))


def test_until_inclusive_before_start():
    assert occurrences(Rule("DAILY", until=Date(2023, 12, 31)), Date(2024, 1, 1)) == []


def test_next_occurrence():
    rule = Rule("WEEKLY", byweekday=[0])
    assert str(next_occurrence(rule, Date(2024, 1, 1), Date(2024, 1, 1))) == "2024-01-08"
    assert str(next_occurrence(rule, Date(2024, 1, 1), Date(2023, 6, 1))) == "2024-01-01"
    bounded = Rule("WEEKLY", count=2)
    assert next_occurrence(bounded, Date(2024, 1, 1), Date(2024, 1, 8)) is None
