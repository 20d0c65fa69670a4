"""Render tables as aligned plain text."""


def cell_text(value, precision=2, null="-"):
    """Text of one cell: floats use ``precision`` decimals."""
    if value is None:
        return null
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "%.*f" % (precision, value)
    return str(value)


def truncate(text, width, ellipsis="~"):
    """Cut ``text`` to ``width`` characters, ending with ``ellipsis``."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[:width - len(ellipsis)] + ellipsis


def is_numeric(values):
    """True when every non-None value is an int or float (not bool)."""
    seen = False
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
        seen = True
    return seen


def column_widths(table, precision=2, max_width=None):
    """Width of each column: its longest cell or header, capped."""
    widths = []
    for i, name in enumerate(table.columns):
        w = len(name)
        for row in table.rows:
            w = max(w, len(cell_text(row[i], precision)))
        if max_width is not None:
            w = min(w, max_width)
        widths.append(w)
    return widths


def render(table, precision=2, max_width=None, sep=" | "):
    """Header, a dashed rule, then one line per row. Numeric columns are
    right-aligned, others left-aligned; trailing spaces are removed.
    In the rule, ``|`` in ``sep`` becomes ``+`` and its spaces ``-``."""
    widths = column_widths(table, precision, max_width)
    numeric = [is_numeric(table.column(c)) for c in table.columns]

    def line(cells, align=True):
        parts = []
        for text, w, num in zip(cells, widths, numeric):
            text = truncate(text, w)
            parts.append(text.rjust(w) if num and align else text.ljust(w))
        return sep.join(parts).rstrip()

    out = [line(table.columns, align=False)]
    rule_sep = sep
    if "|" in sep:
        rule_sep = sep.replace(" ", "-").replace("|", "+")
    out.append(rule_sep.join("-" * w for w in widths))
    for row in table.rows:
        out.append(line([cell_text(v, precision) for v in row]))
    return "\n".join(out)


def render_records(table, precision=2):
    """One ``column: value`` block per row, blocks separated by blank lines."""
    width = max((len(c) for c in table.columns), default=0)
    blocks = []
    for row in table.rows:
        lines = ["%s: %s" % (c.rjust(width), cell_text(v, precision)) for c, v in zip(table.columns, row)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
