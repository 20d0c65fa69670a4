"""CSV parsing and formatting on in-memory strings, with type inference."""

from .table import Table, TableError

NULLS = ("", "NA", "null")


def split_line(line, sep=",", quote='"'):
    """Split one CSV line into fields; doubled quotes inside quoted fields
    stand for one quote."""
    fields = []
    field = []
    i = 0
    in_quotes = False
    while i < len(line):
        ch = line[i]
        if in_quotes:
            if ch == quote:
                if i + 1 < len(line) and line[i + 1] == quote:
                    field.append(quote)
                    i += 1
                else:
                    in_quotes = False
            else:
                field.append(ch)
        elif ch == quote and not field:
            in_quotes = True
        elif ch == sep:
            fields.append("".join(field))
            field = []
        else:
            field.append(ch)
        i += 1
    if in_quotes:
        raise TableError("unterminated quote")
    fields.append("".join(field))
    return fields


def infer(text, nulls=NULLS):
    """Convert a field to None, bool, int, float or leave it a string."""
    if text in nulls:
        return None
    low = text.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse(text, sep=",", header=True, infer_types=True):
    """Parse CSV text into a Table. Blank lines are skipped. Without a
    header the columns are named ``c1``, ``c2``, ..."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return Table([])
    records = [split_line(line, sep) for line in lines]
    if header:
        columns, records = records[0], records[1:]
    else:
        columns = ["c%d" % (i + 1) for i in range(len(records[0]))]
    rows = []
    for n, rec in enumerate(records, start=2 if header else 1):
        if len(rec) != len(columns):
            raise TableError("line %d has %d fields" % (n, len(rec)))
        rows.append(tuple(infer(f) if infer_types else f for f in rec))
    return Table(columns, rows)


def format_value(value, sep=",", quote='"'):
    """Text for one field, quoted when it contains sep, quote or spaces
    at either end."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    text = str(value)
    if sep in text or quote in text or "\n" in text or text != text.strip():
        return quote + text.replace(quote, quote * 2) + quote
    return text


def format_table(table, sep=",", header=True):
    """CSV text for ``table`` with a trailing newline."""
    lines = []
    if header:
        lines.append(sep.join(format_value(c, sep) for c in table.columns))
    for row in table.rows:
        lines.append(sep.join(format_value(v, sep) for v in row))
    return "\n".join(lines) + "\n"


def column_types(table):
    """Name of the common type of each column (None values ignored):
    ``int``, ``float`` (ints and floats mixed), ``bool``, ``str``,
    ``mixed`` or ``empty``."""
    result = {}
    for name in table.columns:
        kinds = {type(v).__name__ for v in table.column(name) if v is not None}
        if not kinds:
            result[name] = "empty"
        elif len(kinds) == 1:
            result[name] = kinds.pop()
        elif kinds == {"int", "float"}:
            result[name] = "float"
        else:
            result[name] = "mixed"
    return result
