"""Grouping and aggregate functions."""

from .table import Table, TableError


def _values(values):
    """Drop None values."""
    return [v for v in values if v is not None]


def count(values):
    return len(_values(values))


def total(values):
    return sum(_values(values))


def mean(values):
    vals = _values(values)
    if not vals:
        return None
    return sum(vals) / len(vals)


def minimum(values):
    vals = _values(values)
    return min(vals) if vals else None


def maximum(values):
    vals = _values(values)
    return max(vals) if vals else None


def median(values):
    """Middle value; the mean of the two middle values for even counts."""
    vals = sorted(_values(values))
    n = len(vals)
    if n == 0:
        return None
    mid = n // 2
    if n % 2 == 1:
        return vals[mid]
    return (vals[mid - 1] + vals[mid]) / 2


def variance(values, sample=True):
    """Sample (n-1) or population (n) variance; None if too few values."""
    vals = _values(values)
    n = len(vals)
    if n < (2 if sample else 1):
        return None
    m = sum(vals) / n
    sq = sum((v - m) ** 2 for v in vals)
    return sq / (n - 1 if sample else n)


FUNCTIONS = {
    "count": count,
    "sum": total,
    "mean": mean,
    "min": minimum,
    "max": maximum,
    "median": median,
}


def parse_spec(spec):
    """Parse ``"sum(price)"`` into ``("sum", "price")`` and ``"count(*)"``
    into ``("count", None)``."""
    spec = spec.replace(" ", "")
    if not spec.endswith(")") or "(" not in spec:
        raise TableError("bad aggregate %r" % spec)
    func, _, arg = spec[:-1].partition("(")
    if func not in FUNCTIONS:
        raise TableError("unknown aggregate %r" % func)
    if arg == "*":
        if func != "count":
            raise TableError("only count accepts *")
        return func, None
    return func, arg


def group_by(table, keys, *specs):
    """Group ``table`` by the ``keys`` columns and compute ``specs``.

    Output columns are the keys followed by one column per spec, named
    like ``sum_price`` (``count`` for ``count(*)``). Groups keep the order
    in which they first appear.
    """
    if isinstance(keys, str):
        keys = [keys]
    key_idx = [table.index(k) for k in keys]
    parsed = [parse_spec(s) for s in specs]
    groups = {}
    for row in table.rows:
        key = tuple(row[i] for i in key_idx)
        groups.setdefault(key, []).append(row)
    out_cols = list(keys)
    for func, arg in parsed:
        out_cols.append(func if arg is None else "%s_%s" % (func, arg))
    out_rows = []
    for key, rows in groups.items():
        out = list(key)
        for func, arg in parsed:
            if arg is None:
                out.append(len(rows))
            else:
                i = table.index(arg)
                out.append(FUNCTIONS[func]([r[i] for r in rows]))
        out_rows.append(tuple(out))
    return Table(out_cols, out_rows)


def summarize(table, column):
    """A dict of every aggregate over one column."""
    values = table.column(column)
    return {name: func(values) for name, func in FUNCTIONS.items()}


def running_total(table, column, name=None):
    """Add a cumulative sum column (None values count as 0)."""
    i = table.index(column)
    name = name or "running_" + column
    acc = 0
    rows = []
    for row in table.rows:
        value = row[i]
        if value is not None:
            acc += value
        rows.append(row + (acc,))
    return Table(table.columns + [name], rows)
