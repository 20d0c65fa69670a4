"""Formatting and parsing of dates with simple pattern tokens.

Tokens: ``YYYY`` (year), ``YY`` (two-digit year), ``MMMM`` (month name),
``MMM`` (month abbreviation), ``MM`` / ``M`` (month number, padded or not),
``DD`` / ``D`` (day), ``dddd`` (weekday name), ``ddd`` (weekday
abbreviation) and ``Do`` (day with ordinal suffix).  Anything else is copied
literally.
"""

from .dates import Date, from_iso_week

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July",
               "August", "September", "October", "November", "December")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TOKENS = ("YYYY", "YY", "MMMM", "MMM", "MM", "M", "dddd", "ddd", "Do", "DD", "D")
CENTURY_PIVOT = 70


def ordinal_suffix(n):
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``12th``, ``13th``, ``21st`` ..."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def tokenize_pattern(pattern):
    """Split ``pattern`` into tokens and literal strings (longest token first)."""
    parts = []
    literal = ""
    i = 0
    while i < len(pattern):
        for token in TOKENS:
            if pattern.startswith(token, i):
                if literal:
                    parts.append(literal)
                    literal = ""
                parts.append(token)
                i += len(token)
                break
        else:
            literal += pattern[i]
            i += 1
    if literal:
        parts.append(literal)
    return parts


def format_date(date, pattern="YYYY-MM-DD"):
    """Render ``date`` according to ``pattern``."""
    values = {
        "YYYY": f"{date.year:04d}",
        "YY": f"{date.year % 100:02d}",
        "MMMM": MONTH_NAMES[date.month - 1],
        "MMM": MONTH_NAMES[date.month - 1][:3],
        "MM": f"{date.month:02d}",
        "M": str(date.month),
        "dddd": DAY_NAMES[date.weekday()],
        "ddd": DAY_NAMES[date.weekday()][:3],
        "Do": ordinal_suffix(date.day),
        "DD": f"{date.day:02d}",
        "D": str(date.day),
    }
    return "".join(values.get(part, part) for part in tokenize_pattern(pattern))


def expand_year(two_digits, pivot=CENTURY_PIVOT):
    """Two-digit years below ``pivot`` are 20xx, the rest 19xx."""
    return 2000 + two_digits if two_digits < pivot else 1900 + two_digits


def _take_digits(text, pos, low, high):
    end = pos
    while end < len(text) and end - pos < high and text[end].isdigit():
        end += 1
    if end - pos < low:
        raise ValueError(f"expected digits at position {pos} in {text!r}")
    return int(text[pos:end]), end


def _take_name(text, pos, names, length=None):
    for index, name in enumerate(names):
        candidate = name if length is None else name[:length]
        if text[pos:pos + len(candidate)].lower() == candidate.lower():
            return index, pos + len(candidate)
    raise ValueError(f"expected a name at position {pos} in {text!r}")


def parse_date(text, pattern="YYYY-MM-DD"):
    """Parse ``text`` written in ``pattern`` back into a :class:`Date`.

    Weekday tokens are matched but must agree with the date.
    """
    year = month = day = None
    weekday = None
    pos = 0
    for part in tokenize_pattern(pattern):
        if part == "YYYY":
            year, pos = _take_digits(text, pos, 4, 4)
        elif part == "YY":
            two, pos = _take_digits(text, pos, 2, 2)
            year = expand_year(two)
        elif part == "MMMM":
            month, pos = _take_name(text, pos, MONTH_NAMES)
            month += 1
        elif part == "MMM":
            month, pos = _take_name(text, pos, MONTH_NAMES, 3)
            month += 1
        elif part in ("MM", "M"):
            month, pos = _take_digits(text, pos, len(part), 2)
        elif part in ("DD", "D"):
            day, pos = _take_digits(text, pos, len(part), 2)
        elif part == "Do":
            day, pos = _take_digits(text, pos, 1, 2)
            pos += 2
        elif part in ("dddd", "ddd"):
            weekday, pos = _take_name(text, pos, DAY_NAMES, 3 if part == "ddd" else None)
        else:
            if text[pos:pos + len(part)] != part:
                raise ValueError(f"expected {part!r} at position {pos} in {text!r}")
            pos += len(part)
    if pos != len(text):
        raise ValueError(f"unexpected trailing text in {text!r}")
    if year is None or month is None or day is None:
        raise ValueError("pattern must contain a year, a month and a day")
    result = Date(year, month, day)
    if weekday is not None and result.weekday() != weekday:
        raise ValueError(f"{text!r}: weekday does not match the date")
    return result


def parse_iso(text):
    """Parse ISO 8601 calendar, basic, week (``2024-W09-5``) and ordinal (``2024-061``) dates."""
    text = text.strip()
    if "W" in text:
        year_text, _, rest = text.partition("-W")
        fields = rest.split("-")
        if len(year_text) != 4 or len(fields) > 2 or not all(f.isdigit() for f in fields):
            raise ValueError(f"bad ISO week date: {text!r}")
        isoweekday = int(fields[1]) if len(fields) == 2 else 1
        return from_iso_week(int(year_text), int(fields[0]), isoweekday)
    if len(text) == 8 and text.isdigit():
        return Date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if len(text) == 8 and text[4] == "-" and text.replace("-", "").isdigit():
        year = int(text[:4])
        day_number = int(text[5:])
        start = Date(year, 1, 1)
        result = start.add_days(day_number - 1)
        if day_number < 1 or result.year != year:
            raise ValueError(f"day of year out of range: {text!r}")
        return result
    return parse_date(text, "YYYY-MM-DD")


def humanize_days(delta):
    """Describe a signed day difference: ``today``, ``in 3 days``, ``2 weeks ago`` ..."""
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    size = abs(delta)
    if size < 14:
        amount, unit = size, "day"
    elif size < 60:
        amount, unit = size // 7, "week"
    elif size < 730:
        amount, unit = size // 30, "month"
    else:
        amount, unit = size // 365, "year"
    phrase = f"{amount} {unit}" + ("s" if amount != 1 else "")
    return f"in {phrase}" if delta > 0 else f"{phrase} ago"
