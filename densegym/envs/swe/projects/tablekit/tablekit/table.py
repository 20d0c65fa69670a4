"""The Table class: rows with named columns."""


class TableError(Exception):
    """Raised for unknown columns or malformed rows."""


def _sort_key(value):
    """Order None before everything else and keep mixed types comparable."""
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, (int, float)):
        return (1, value, "")
    return (2, 0, str(value))


class Table:
    """An immutable-style table: operations return new tables.

    ``rows`` is a list of tuples, each as long as ``columns``.
    """

    def __init__(self, columns, rows=()):
        columns = list(columns)
        if len(set(columns)) != len(columns):
            raise TableError("duplicate column names")
        self.columns = columns
        self.rows = []
        for row in rows:
            row = tuple(row)
            if len(row) != len(columns):
                raise TableError("row has %d values, expected %d" % (len(row), len(columns)))
            self.rows.append(row)

    @classmethod
    def from_dicts(cls, records, columns=None):
        """Build from dicts; missing keys become None. Columns default to
        the keys in first-seen order."""
        if columns is None:
            columns = []
            for rec in records:
                for key in rec:
                    if key not in columns:
                        columns.append(key)
        return cls(columns, [tuple(rec.get(c) for c in columns) for rec in records])

    def to_dicts(self):
        return [dict(zip(self.columns, row)) for row in self.rows]

    def __len__(self):
        return len(self.rows)

    def __eq__(self, other):
        return isinstance(other, Table) and self.columns == other.columns and self.rows == other.rows

    def index(self, column):
        """Position of ``column``; raises TableError when unknown."""
        try:
            return self.columns.index(column)
        except ValueError:
            raise TableError("unknown column %r" % column) from None

    def column(self, name):
        """All values of one column as a list."""
        i = self.index(name)
        return [row[i] for row in self.rows]

    def select(self, *names):
        """A table with only the given columns, in the given order."""
        idx = [self.index(n) for n in names]
        return Table(names, [tuple(row[i] for i in idx) for row in self.rows])

    def rename(self, old, new):
        cols = list(self.columns)
        cols[self.index(old)] = new
        return Table(cols, self.rows)

    def where(self, predicate=None, **equals):
        """Rows where ``predicate(row_dict)`` is true and every
        ``column=value`` keyword matches."""
        for name in equals:
            self.index(name)
        kept = []
        for row in self.rows:
            rec = dict(zip(self.columns, row))
            if any(rec[k] != v for k, v in equals.items()):
                continue
            if predicate is not None and not predicate(rec):
                continue
            kept.append(row)
        return Table(self.columns, kept)

    def sort(self, *keys):
        """Sort by several keys; prefix a name with ``-`` for descending.

        The sort is stable, and None sorts first when ascending.
        """
        rows = list(self.rows)
        for key in reversed(keys):
            descending = key.startswith("-")
            name = key[1:] if descending else key
            i = self.index(name)
            rows.sort(key=lambda row: _sort_key(row[i]), reverse=descending)
        return Table(self.columns, rows)

    def limit(self, count, offset=0):
        """At most ``count`` rows starting at ``offset``."""
        if count < 0 or offset < 0:
            raise TableError("limit and offset must be non-negative")
        return Table(self.columns, self.rows[offset:offset + count])

    def head(self, n=5):
        return self.limit(n)

    def add_column(self, name, func):
        """A new column computed from each row dict."""
        if name in self.columns:
            raise TableError("column %r exists" % name)
        rows = [row + (func(dict(zip(self.columns, row))),) for row in self.rows]
        return Table(self.columns + [name], rows)

    def distinct(self, *names):
        """Unique rows (over ``names`` if given), first occurrence kept."""
        t = self.select(*names) if names else self
        seen = set()
        rows = []
        for row in t.rows:
            if row not in seen:
                seen.add(row)
                rows.append(row)
        return Table(t.columns, rows)

    def concat(self, other):
        if self.columns != other.columns:
            raise TableError("columns differ")
        return Table(self.columns, self.rows + other.rows)
