"""A small subset of iCalendar RRULE recurrences.

Supported parts: ``FREQ`` (DAILY, WEEKLY, MONTHLY, YEARLY), ``INTERVAL``,
``COUNT``, ``UNTIL`` (``YYYYMMDD``, inclusive), ``BYDAY`` (``MO``..``SU``) and
``BYMONTHDAY`` (1..31 or -1..-31 counting from the month's end).
"""

from .dates import Date, days_in_month

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")

#: Safety bound on the periods examined when a rule has neither COUNT nor UNTIL.
MAX_PERIODS = 10000


class Rule:
    """A recurrence rule; see the module docstring for the supported parts."""

    def __init__(self, freq, interval=1, count=None, until=None, byweekday=None, bymonthday=None):
        freq = freq.upper()
        if freq not in FREQUENCIES:
            raise ValueError(f"unsupported frequency: {freq}")
        if interval < 1:
            raise ValueError("interval must be positive")
        if count is not None and count < 1:
            raise ValueError("count must be positive")
        if count is not None and until is not None:
            raise ValueError("COUNT and UNTIL are mutually exclusive")
        for md in bymonthday or ():
            if md == 0 or not -31 <= md <= 31:
                raise ValueError(f"invalid month day: {md}")
        self.freq = freq
        self.interval = interval
        self.count = count
        self.until = until
        self.byweekday = tuple(sorted(set(byweekday))) if byweekday else ()
        self.bymonthday = tuple(bymonthday) if bymonthday else ()

    def __str__(self):
        return format_rule(self)


def parse_until(text):
    """Parse ``YYYYMMDD`` into a :class:`Date`."""
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"bad UNTIL value: {text!r}")
    return Date(int(text[:4]), int(text[4:6]), int(text[6:]))


def parse_rule(text):
    """Parse ``FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE`` into a :class:`Rule`."""
    parts = {}
    for chunk in text.strip().split(";"):
        if not chunk:
            continue
        key, sep, value = chunk.partition("=")
        if not sep or not value:
            raise ValueError(f"bad rule part: {chunk!r}")
        key = key.strip().upper()
        if key in parts:
            raise ValueError(f"duplicate rule part: {key}")
        parts[key] = value.strip().upper()
    if "FREQ" not in parts:
        raise ValueError("FREQ is required")
    kwargs = {}
    if "INTERVAL" in parts:
        kwargs["interval"] = int(parts.pop("INTERVAL"))
    if "COUNT" in parts:
        kwargs["count"] = int(parts.pop("COUNT"))
    if "UNTIL" in parts:
        kwargs["until"] = parse_until(parts.pop("UNTIL"))
    if "BYDAY" in parts:
        codes = parts.pop("BYDAY").split(",")
        for code in codes:
            if code not in WEEKDAY_CODES:
                raise ValueError(f"bad weekday: {code}")
        kwargs["byweekday"] = [WEEKDAY_CODES.index(code) for code in codes]
    if "BYMONTHDAY" in parts:
        kwargs["bymonthday"] = [int(v) for v in parts.pop("BYMONTHDAY").split(",")]
    freq = parts.pop("FREQ")
    if parts:
        raise ValueError(f"unsupported rule parts: {', '.join(sorted(parts))}")
    return Rule(freq, **kwargs)


def format_rule(rule):
    """The RRULE text for ``rule`` (parts in a fixed order, defaults omitted)."""
    out = [f"FREQ={rule.freq}"]
    if rule.interval != 1:
        out.append(f"INTERVAL={rule.interval}")
    if rule.count is not None:
        out.append(f"COUNT={rule.count}")
    if rule.until is not None:
        u = rule.until
        out.append(f"UNTIL={u.year:04d}{u.month:02d}{u.day:02d}")
    if rule.byweekday:
        out.append("BYDAY=" + ",".join(WEEKDAY_CODES[d] for d in rule.byweekday))
    if rule.bymonthday:
        out.append("BYMONTHDAY=" + ",".join(str(d) for d in rule.bymonthday))
    return ";".join(out)


def _resolve_month_days(year, month, monthdays):
    """Concrete, sorted, in-range days of a month for BYMONTHDAY values."""
    length = days_in_month(year, month)
    days = set()
    for md in monthdays:
        day = md if md > 0 else length + md + 1
        if 1 <= day <= length:
            days.add(day)
    return sorted(days)


def _period_candidates(rule, start, period):
    """Dates of the ``period``-th period (0-based, already multiplied by interval)."""
    if rule.freq == "DAILY":
        day = start.add_days(period)
        if rule.byweekday and day.weekday() not in rule.byweekday:
            return []
        return [day]
    if rule.freq == "WEEKLY":
        monday = start.start_of_week().add_days(7 * period)
        weekdays = rule.byweekday or (start.weekday(),)
        return [monday.add_days(wd) for wd in weekdays]
    if rule.freq == "MONTHLY":
        first = start.start_of_month().add_months(period)
        monthdays = rule.bymonthday or (start.day,)
        days = [Date(first.year, first.month, d)
                for d in _resolve_month_days(first.year, first.month, monthdays)]
        if rule.byweekday:
            days = [d for d in days if d.weekday() in rule.byweekday]
        return days
    year = start.year + period
    if start.month == 2 and start.day == 29 and days_in_month(year, 2) == 28:
        return []
    return [Date(year, start.month, start.day)]


def iter_occurrences(rule, start):
    """Yield the dates generated by ``rule`` from ``start`` (inclusive), in order.

    Candidates before ``start`` are skipped, and ``start`` itself is only
    included if it matches the rule.  COUNT and UNTIL end the sequence; an
    unbounded rule stops after :data:`MAX_PERIODS` periods.
    """
    produced = 0
    for index in range(MAX_PERIODS):
        for day in _period_candidates(rule, start, index * rule.interval):
            if day < start:
                continue
            if rule.until is not None and day > rule.until:
                return
            yield day
            produced += 1
            if rule.count is not None and produced >= rule.count:
                return


def occurrences(rule, start, limit=None):
    """A list of at most ``limit`` dates from :func:`iter_occurrences`.

    A rule without COUNT or UNTIL needs a ``limit`` (``ValueError`` otherwise).
    """
    if rule.count is None and rule.until is None and limit is None:
        raise ValueError("an unbounded rule needs a limit")
    result = []
    for day in iter_occurrences(rule, start):
        if limit is not None and len(result) >= limit:
            break
        result.append(day)
    return result


def next_occurrence(rule, start, after):
    """The first occurrence strictly after ``after``, or ``None``."""
    for day in iter_occurrences(rule, start):
        if day > after:
            return day
    return None
