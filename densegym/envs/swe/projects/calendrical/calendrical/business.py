"""Business days: weekends, holidays, rolling conventions and holiday rules."""

from .dates import Date, days_in_month

SATURDAY = 5
SUNDAY = 6

#: How far :meth:`BusinessCalendar.next_business_day` looks before giving up.
MAX_SEARCH_DAYS = 366


def easter(year):
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return Date(year, month, day + 1)


def nth_weekday(year, month, weekday, n):
    """The ``n``-th ``weekday`` (Monday=0) of a month; ``n=-1`` is the last one."""
    if n == 0:
        raise ValueError("n must not be 0")
    if n > 0:
        first = Date(year, month, 1)
        offset = (weekday - first.weekday()) % 7
        day = 1 + offset + 7 * (n - 1)
    else:
        last = Date(year, month, days_in_month(year, month))
        offset = (last.weekday() - weekday) % 7
        day = last.day - offset - 7 * (-n - 1)
    if not 1 <= day <= days_in_month(year, month):
        raise ValueError(f"no such weekday occurrence: {n}")
    return Date(year, month, day)


def observed(date):
    """Weekend holidays move to the nearest weekday: Saturday to Friday, Sunday to Monday."""
    wd = date.weekday()
    if wd == SATURDAY:
        return date.add_days(-1)
    if wd == SUNDAY:
        return date.add_days(1)
    return date


def us_federal_holidays(year):
    """A sorted list of (observed) US federal holidays in ``year``."""
    days = [
        observed(Date(year, 1, 1)),
        nth_weekday(year, 1, 0, 3),
        nth_weekday(year, 2, 0, 3),
        nth_weekday(year, 5, 0, -1),
        observed(Date(year, 7, 4)),
        nth_weekday(year, 9, 0, 1),
        nth_weekday(year, 11, 3, 4),
        observed(Date(year, 12, 25)),
    ]
    if year >= 2021:
        days.append(observed(Date(year, 6, 19)))
    return sorted(days)


class BusinessCalendar:
    """Working days: not on a weekend day and not a holiday."""

    def __init__(self, holidays=(), weekend=(SATURDAY, SUNDAY)):
        self.holidays = frozenset(holidays)
        self.weekend = frozenset(weekend)
        if len(self.weekend) >= 7:
            raise ValueError("a week needs at least one working day")

    def is_business_day(self, date):
        return date.weekday() not in self.weekend and date not in self.holidays

    def next_business_day(self, date, forward=True):
        """The first business day strictly after (or before) ``date``."""
        step = 1 if forward else -1
        for offset in range(1, MAX_SEARCH_DAYS + 1):
            current = date.add_days(step * offset)
            if self.is_business_day(current):
                return current
        raise ValueError(f"no business day within {MAX_SEARCH_DAYS} days of {date}")

    def roll(self, date, convention="following"):
        """Adjust ``date`` onto a business day.

        ``following`` moves forward, ``preceding`` backward, and
        ``modified_following`` moves forward unless that changes the month,
        in which case it moves backward.
        """
        if self.is_business_day(date):
            return date
        if convention == "following":
            return self.next_business_day(date)
        if convention == "preceding":
            return self.next_business_day(date, forward=False)
        if convention == "modified_following":
            candidate = self.next_business_day(date)
            if candidate.month != date.month:
                return self.next_business_day(date, forward=False)
            return candidate
        raise ValueError(f"unknown convention: {convention}")

    def add_business_days(self, date, days):
        """Move ``days`` business days from ``date`` (backward when negative).

        Adding zero rolls a non-business day forward.
        """
        if days == 0:
            return self.roll(date)
        forward = days > 0
        current = date
        for _ in range(abs(days)):
            current = self.next_business_day(current, forward)
        return current

    def business_days_between(self, start, end):
        """Business days in the half-open interval ``[start, end)``; negative if reversed."""
        if end < start:
            return -self.business_days_between(end, start)
        count = 0
        for offset in range(end - start):
            if self.is_business_day(start.add_days(offset)):
                count += 1
        return count

    def business_days_in_month(self, year, month):
        """All business days of a month, in order."""
        return [Date(year, month, d) for d in range(1, days_in_month(year, month) + 1)
                if self.is_business_day(Date(year, month, d))]
