"""A tiny Markdown subset rendered to HTML.

Supported: ``#`` headings (levels 1-6), paragraphs, ``-``/``*`` bullet lists,
``1.`` numbered lists, ``**bold**``, ``*italic*``, ```code``` spans,
``[text](url)`` links and horizontal rules (``---``).  All text is escaped.
"""

ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def escape_html(text, quote=True):
    """Escape ``&``, ``<``, ``>`` and, when ``quote`` is true, ``"``."""
    out = []
    for ch in text:
        if ch == '"' and not quote:
            out.append(ch)
        else:
            out.append(ESCAPES.get(ch, ch))
    return "".join(out)


def _find_closing(text, marker, start):
    """Index of the ``marker`` that closes a span opened just before ``start``, or -1.

    A marker directly at ``start`` would make an empty span, so it is skipped.
    """
    index = text.find(marker, start)
    if index == start:
        index = text.find(marker, start + 1)
    return index


def _inline_span(text, i):
    """Render the span starting at ``text[i]``: ``(html, characters consumed)``.

    Returns ``(None, 0)`` when no code span, link or emphasis starts there.
    """
    ch = text[i]
    if ch == "`":
        end = text.find("`", i + 1)
        if end != -1:
            return "<code>" + escape_html(text[i + 1:end]) + "</code>", end + 1 - i
    elif ch == "[":
        close = text.find("](", i)
        end = text.find(")", close + 2)
        if close != -1 and end != -1:
            label = render_inline(text[i + 1:close])
            url = escape_html(text[close + 2:end])
            return f'<a href="{url}">{label}</a>', end + 1 - i
    elif text.startswith("**", i):
        end = _find_closing(text, "**", i + 2)
        if end != -1:
            return "<strong>" + render_inline(text[i + 2:end]) + "</strong>", end + 2 - i
    elif ch == "*":
        end = _find_closing(text, "*", i + 1)
        if end != -1:
            return "<em>" + render_inline(text[i + 1:end]) + "</em>", end + 1 - i
    return None, 0


def render_inline(text):
    """Render code spans, links, bold and italic inside a single line."""
    out = []
    i = 0
    while i < len(text):
        html, consumed = _inline_span(text, i)
        if html is None:
            html, consumed = escape_html(text[i]), 1
        out.append(html)
        i += max(consumed, 1)
    return "".join(out)


def heading_level(line):
    """Level 1-6 for ``# Heading`` lines, 0 otherwise (a space must follow the hashes)."""
    count = len(line) - len(line.lstrip("#"))
    if count < 1 or count > 6:
        return 0
    if len(line) > count and line[count] != " ":
        return 0
    return count


def list_item(line):
    """``("ul", text)`` or ``("ol", text)`` for list lines, else ``None``."""
    stripped = line.lstrip()
    if stripped[:2] in ("- ", "* "):
        return "ul", stripped[2:].strip()
    digits = len(stripped) - len(stripped.lstrip("0123456789"))
    if 0 < digits <= 3 and stripped[digits:digits + 2] == ". ":
        return "ol", stripped[digits + 2:].strip()
    return None


def render(text):
    """Render a document to HTML, one block element per line of output."""
    html = []
    paragraph = []
    list_kind = None

    def flush_paragraph():
        if paragraph:
            html.append("<p>" + render_inline(" ".join(paragraph)) + "</p>")
            paragraph.clear()

    def close_list():
        nonlocal list_kind
        if list_kind:
            html.append(f"</{list_kind}>")
            list_kind = None

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush_paragraph()
            close_list()
            continue
        level = heading_level(line)
        item = list_item(line)
        if level:
            flush_paragraph()
            close_list()
            body = render_inline(line[level:].strip())
            html.append(f"<h{level}>{body}</h{level}>")
        elif line in ("---", "***"):
            flush_paragraph()
            close_list()
            html.append("<hr>")
        elif item:
            flush_paragraph()
            kind, body = item
            if kind != list_kind:
                close_list()
                html.append(f"<{kind}>")
                list_kind = kind
            html.append("<li>" + render_inline(body) + "</li>")
        else:
            close_list()
            paragraph.append(line)
    flush_paragraph()
    close_list()
    return "\n".join(html)


def strip_markup(text):
    """Plain text of a document: markers removed, links reduced to their labels."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        level = heading_level(line)
        if level:
            line = line[level:].strip()
        item = list_item(line)
        if item:
            line = item[1]
        for marker in ("**", "*", "`"):
            line = line.replace(marker, "")
        for _ in range(line.count("[")):
            close = line.find("](")
            start = line.rfind("[", 0, close) if close != -1 else -1
            end = line.find(")", close + 2) if close != -1 else -1
            if start == -1 or end == -1:
                break
            line = line[:start] + line[start + 1:close] + line[end + 1:]
        out.append(line)
    return "\n".join(out).strip()
