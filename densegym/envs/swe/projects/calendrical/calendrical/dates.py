"""Core date arithmetic on the proleptic Gregorian calendar.

Ordinals count days from 0001-01-01, which is ordinal 1 (as in the standard
library).  Weekdays are numbered Monday=0 ... Sunday=6.
"""

from dataclasses import dataclass

MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MIN_YEAR = 1
MAX_YEAR = 9999


def is_leap(year):
    """True for Gregorian leap years: divisible by 4, except centuries not divisible by 400."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_year(year):
    """365 or 366."""
    return 366 if is_leap(year) else 365


def days_in_month(year, month):
    """Number of days in ``month`` of ``year``."""
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range: {month}")
    if month == 2 and is_leap(year):
        return 29
    return MONTH_DAYS[month - 1]


def validate(year, month, day):
    """Raise ``ValueError`` unless ``year-month-day`` is a real date."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year out of range: {year}")
    if not 1 <= day <= days_in_month(year, month):
        raise ValueError(f"day out of range: {year}-{month}-{day}")


def day_of_year(year, month, day):
    """1 for January 1st, up to 365 or 366."""
    total = sum(MONTH_DAYS[:month - 1]) + day
    if month > 2 and is_leap(year):
        total += 1
    return total


def days_before_year(year):
    """Days from 0001-01-01 to January 1st of ``year``."""
    y = year - 1
    return y * 365 + y // 4 - y // 100 + y // 400


def to_ordinal(year, month, day):
    """Ordinal of a date; 0001-01-01 is 1."""
    return days_before_year(year) + day_of_year(year, month, day)


def from_ordinal(ordinal):
    """``(year, month, day)`` for an ordinal produced by :func:`to_ordinal`."""
    if ordinal < 1:
        raise ValueError("ordinal must be >= 1")
    # No year is longer than 366 days, so this first guess is never too late.
    year = (ordinal - 1) // 366 + 1
    n = ordinal - 1 - days_before_year(year)
    while n >= days_in_year(year):
        n -= days_in_year(year)
        year += 1
    month = 1
    while n >= days_in_month(year, month):
        n -= days_in_month(year, month)
        month += 1
    return year, month, n + 1


def weekday(year, month, day):
    """Monday=0 ... Sunday=6."""
    return (to_ordinal(year, month, day) - 1) % 7


@dataclass(frozen=True, order=True)
class Date:
    """An immutable calendar date ordered chronologically."""

    year: int
    month: int
    day: int

    def __post_init__(self):
        validate(self.year, self.month, self.day)

    @classmethod
    def from_ordinal(cls, ordinal):
        return cls(*from_ordinal(ordinal))

    def ordinal(self):
        return to_ordinal(self.year, self.month, self.day)

    def weekday(self):
        """Monday=0 ... Sunday=6."""
        return weekday(self.year, self.month, self.day)

    def isoweekday(self):
        """Monday=1 ... Sunday=7."""
        return self.weekday() + 1

    def day_of_year(self):
        return day_of_year(self.year, self.month, self.day)

    def add_days(self, days):
        """The date ``days`` later (earlier when negative)."""
        return Date.from_ordinal(self.ordinal() + days)

    def add_months(self, months):
        """Move by whole months, clamping the day to the target month's length."""
        index = self.year * 12 + (self.month - 1) + months
        year, month0 = divmod(index, 12)
        day = min(self.day, days_in_month(year, month0 + 1))
        return Date(year, month0 + 1, day)

    def add_years(self, years):
        """Move by whole years; February 29th becomes February 28th when needed."""
        return self.add_months(12 * years)

    def __sub__(self, other):
        """Days from ``other`` to ``self``."""
        if not isinstance(other, Date):
            return NotImplemented
        return self.ordinal() - other.ordinal()

    def start_of_month(self):
        return Date(self.year, self.month, 1)

    def end_of_month(self):
        return Date(self.year, self.month, days_in_month(self.year, self.month))

    def start_of_week(self, first_weekday=0):
        """The most recent ``first_weekday`` on or before this date."""
        back = (self.weekday() - first_weekday) % 7
        return self.add_days(-back)

    def iso_week(self):
        """``(iso_year, week, isoweekday)`` per ISO 8601 (weeks start on Monday)."""
        thursday = self.ordinal() + 3 - self.weekday()
        iso_year = from_ordinal(thursday)[0]
        first = to_ordinal(iso_year, 1, 1)
        week = (thursday - first) // 7 + 1
        return iso_year, week, self.isoweekday()

    def quarter(self):
        """1..4."""
        return (self.month - 1) // 3 + 1

    def __str__(self):
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


def from_iso_week(iso_year, week, isoweekday=1):
    """The :class:`Date` for an ISO year, week (1-53) and weekday (1-7)."""
    if not 1 <= isoweekday <= 7:
        raise ValueError("isoweekday must be in 1..7")
    jan4 = Date(iso_year, 1, 4)
    week1_monday = jan4.add_days(-jan4.weekday())
    result = week1_monday.add_days((week - 1) * 7 + isoweekday - 1)
    if week < 1 or result.iso_week()[0] != iso_year:
        raise ValueError(f"{iso_year} has no week {week}")
    return result


def weeks_in_year(iso_year):
    """52 or 53: the ISO week number of December 28th."""
    return Date(iso_year, 12, 28).iso_week()[1]
