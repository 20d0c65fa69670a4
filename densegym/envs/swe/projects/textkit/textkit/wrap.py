"""Line wrapping, justification, indentation and truncation."""


def wrap(text, width=70, break_long=True):
    """Wrap ``text`` into lines of at most ``width`` characters.

    Whitespace is collapsed.  Words longer than ``width`` are split when
    ``break_long`` is true and otherwise put on a line of their own.
    """
    if width < 1:
        raise ValueError("width must be positive")
    lines = []
    current = ""
    for word in text.split():
        while break_long and len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def fill(text, width=70):
    """:func:`wrap` joined with newlines."""
    return "\n".join(wrap(text, width))


def justify_line(line, width):
    """Pad the gaps between the words of ``line`` so it is exactly ``width`` long.

    Extra spaces go to the leftmost gaps first.  A single word is padded on
    the right; lines already at least ``width`` long are returned unchanged.
    """
    words = line.split()
    if not words:
        return " " * width
    if len(words) == 1:
        return words[0].ljust(width)
    letters = sum(len(w) for w in words)
    gaps = len(words) - 1
    spaces = width - letters
    if spaces < gaps:
        return " ".join(words)
    base, extra = divmod(spaces, gaps)
    out = ""
    for index, word in enumerate(words[:-1]):
        out += word + " " * (base + (1 if index < extra else 0))
    return out + words[-1]


def justify(text, width=70):
    """Wrap and fully justify ``text``; the last line stays left-aligned."""
    lines = wrap(text, width)
    if not lines:
        return ""
    body = [justify_line(line, width) for line in lines[:-1]]
    return "\n".join(body + [lines[-1]])


def indent(text, prefix="    ", first=None, skip_blank=True):
    """Prefix every line of ``text``; ``first`` overrides the first line's prefix."""
    out = []
    for index, line in enumerate(text.split("\n")):
        if skip_blank and not line.strip():
            out.append(line)
            continue
        lead = first if index == 0 and first is not None else prefix
        out.append(lead + line)
    return "\n".join(out)


def dedent(text):
    """Remove the longest common leading whitespace of the non-blank lines."""
    lines = text.split("\n")
    margins = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    if not margins:
        return text
    margin = min(margins)
    return "\n".join(line[margin:] if line.strip() else line.strip() for line in lines)


def truncate(text, width, ellipsis="...", whole_words=False):
    """Shorten ``text`` to at most ``width`` characters, ending in ``ellipsis``.

    With ``whole_words`` the cut is moved back to the last space, when there
    is one, so no word is split.
    """
    if len(text) <= width:
        return text
    if width <= len(ellipsis):
        return ellipsis[:width]
    cut = text[:width - len(ellipsis)]
    if whole_words and " " in cut:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip() + ellipsis


def center(text, width, fill_char=" "):
    """Center ``text`` in ``width``; the odd extra character goes on the right."""
    if len(fill_char) != 1:
        raise ValueError("fill_char must be a single character")
    pad = width - len(text)
    if pad <= 0:
        return text
    left = pad // 2
    return fill_char * left + text + fill_char * (pad - left)


def columns(items, width=80, gap=2):
    """Lay ``items`` out in as many equal columns as fit in ``width`` (row-major)."""
    if not items:
        return []
    cell = max(len(item) for item in items)
    per_row = max(1, (width + gap) // (cell + gap))
    rows = []
    for start in range(0, len(items), per_row):
        chunk = items[start:start + per_row]
        rows.append((" " * gap).join(item.ljust(cell) for item in chunk).rstrip())
    return rows
