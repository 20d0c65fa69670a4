"""Joins between tables."""

from .table import Table, TableError


def _output_columns(left, right, on, suffix):
    """Columns of the joined table: all left columns, then right columns
    other than the join keys; clashes get ``suffix``."""
    cols = list(left.columns)
    right_keep = []
    for i, name in enumerate(right.columns):
        if name in on:
            continue
        out = name + suffix if name in cols else name
        if out in cols:
            raise TableError("column clash on %r" % out)
        cols.append(out)
        right_keep.append(i)
    return cols, right_keep


def _index(table, on):
    idx = [table.index(k) for k in on]
    lookup = {}
    for row in table.rows:
        key = tuple(row[i] for i in idx)
        if None in key:
            continue
        lookup.setdefault(key, []).append(row)
    return lookup


def join(left, right, on, how="inner", suffix="_right"):
    """Join two tables on the ``on`` column(s).

    ``how`` is ``"inner"`` or ``"left"``. Left rows keep their order;
    matches keep the right table's order. Keys containing None never match.
    """
    if isinstance(on, str):
        on = [on]
    if how not in ("inner", "left"):
        raise TableError("unknown join type %r" % how)
    cols, right_keep = _output_columns(left, right, on, suffix)
    lookup = _index(right, on)
    left_idx = [left.index(k) for k in on]
    rows = []
    for row in left.rows:
        key = tuple(row[i] for i in left_idx)
        matches = lookup.get(key, []) if None not in key else []
        if matches:
            for other in matches:
                rows.append(row + tuple(other[i] for i in right_keep))
        elif how == "left":
            rows.append(row + (None,) * len(right_keep))
    return Table(cols, rows)


def inner_join(left, right, on, suffix="_right"):
    return join(left, right, on, how="inner", suffix=suffix)


def left_join(left, right, on, suffix="_right"):
    return join(left, right, on, how="left", suffix=suffix)


def anti_join(left, right, on):
    """Left rows that have no match in ``right``."""
    if isinstance(on, str):
        on = [on]
    lookup = _index(right, on)
    idx = [left.index(k) for k in on]
    rows = [row for row in left.rows if tuple(row[i] for i in idx) not in lookup]
    return Table(left.columns, rows)


def lookup(table, key_column, value_column, default=None):
    """Dict from one column to another; the first row for a key wins and
    None values are replaced by ``default`` when one is given."""
    ki, vi = table.index(key_column), table.index(value_column)
    result = {}
    for row in table.rows:
        if row[ki] not in result:
            result[row[ki]] = row[vi]
    if default is not None:
        for key, value in result.items():
            if value is None:
                result[key] = default
    return result
