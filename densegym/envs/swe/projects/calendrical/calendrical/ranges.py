"""Inclusive date ranges: containment, overlap, merging and gaps."""

from .dates import Date


class DateRange:
    """All days from ``start`` to ``end`` inclusive."""

    __slots__ = ("start", "end")

    def __init__(self, start, end):
        if end < start:
            raise ValueError(f"range ends before it starts: {start} > {end}")
        self.start = start
        self.end = end

    def __eq__(self, other):
        if not isinstance(other, DateRange):
            return NotImplemented
        return self.start == other.start and self.end == other.end

    def __hash__(self):
        return hash((self.start, self.end))

    def __len__(self):
        return self.end - self.start + 1

    def __contains__(self, date):
        return self.start <= date <= self.end

    def __repr__(self):
        return f"DateRange({self.start}, {self.end})"

    def __str__(self):
        return f"{self.start}..{self.end}"

    def days(self, step=1):
        """Every ``step``-th day of the range, starting at ``start``."""
        if step < 1:
            raise ValueError("step must be positive")
        return [self.start.add_days(i) for i in range(0, len(self), step)]

    def overlaps(self, other):
        """True when the ranges share at least one day."""
        return self.start <= other.end and other.start <= self.end

    def touches(self, other):
        """True when the ranges overlap or one starts the day after the other ends."""
        return self.overlaps(other) or other.start - self.end == 1 or self.start - other.end == 1

    def intersection(self, other):
        """The shared days as a range, or ``None``."""
        if not self.overlaps(other):
            return None
        return DateRange(max(self.start, other.start), min(self.end, other.end))

    def union(self, other):
        """The combined range of two touching ranges (``ValueError`` otherwise)."""
        if not self.touches(other):
            raise ValueError("ranges are disjoint")
        return DateRange(min(self.start, other.start), max(self.end, other.end))

    def shift(self, days):
        return DateRange(self.start.add_days(days), self.end.add_days(days))

    def split_by_month(self):
        """Pieces of this range that each lie within a single calendar month."""
        first = self.start.start_of_month()
        months = (self.end.year - first.year) * 12 + self.end.month - first.month + 1
        pieces = []
        for index in range(months):
            month_start = first.add_months(index)
            piece_start = max(month_start, self.start)
            piece_end = min(month_start.end_of_month(), self.end)
            pieces.append(DateRange(piece_start, piece_end))
        return pieces


def merge(ranges, adjacent=True):
    """Sort and combine overlapping (and, if ``adjacent``, touching) ranges."""
    ordered = sorted(ranges, key=lambda r: (r.start, r.end))
    merged = []
    for rng in ordered:
        if merged:
            last = merged[-1]
            joined = last.touches(rng) if adjacent else last.overlaps(rng)
            if joined:
                merged[-1] = DateRange(last.start, max(last.end, rng.end))
                continue
        merged.append(rng)
    return merged


def total_days(ranges):
    """Number of distinct days covered by ``ranges``."""
    return sum(len(r) for r in merge(ranges))


def gaps(ranges, within):
    """The days of ``within`` not covered by any of ``ranges``, as ranges."""
    free = []
    cursor = within.start
    for rng in merge(ranges):
        if rng.end < within.start or rng.start > within.end:
            continue
        if rng.start > cursor:
            free.append(DateRange(cursor, rng.start.add_days(-1)))
        if rng.end >= cursor:
            if rng.end >= within.end:
                return free
            cursor = rng.end.add_days(1)
    free.append(DateRange(cursor, within.end))
    return free


def month_range(year, month):
    """The range covering a whole calendar month."""
    start = Date(year, month, 1)
    return DateRange(start, start.end_of_month())
