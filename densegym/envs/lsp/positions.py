"""Offsets in Python strings <-> LSP positions (line, UTF-16 code unit), and minimal text changes.

LSP counts columns in UTF-16 code units by default, so an astral character (an emoji) is two columns;
getting this wrong desynchronises the server's copy of a document from ours. Lines end at ``\\n`` only:
the env normalises every text it writes to ``\\n`` line ends before it reaches the server.
"""

from __future__ import annotations


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def line_starts(text: str) -> list[int]:
    starts = [0]
    pos = text.find("\n")
    while pos >= 0:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def to_lsp(text: str, offset: int, starts: list[int] | None = None) -> tuple[int, int]:
    """The (line, utf-16 column) of a string offset."""
    starts = starts or line_starts(text)
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo, utf16_len(text[starts[lo] : offset])


def from_lsp(text: str, line: int, column: int, starts: list[int] | None = None) -> int:
    """The string offset of an LSP (line, utf-16 column), clamped to the line's end."""
    starts = starts or line_starts(text)
    if line >= len(starts):
        return len(text)
    start = starts[max(line, 0)]
    end = starts[line + 1] - 1 if line + 1 < len(starts) else len(text)
    units = 0
    for i in range(start, end):
        if units >= column:
            return i
        units += 2 if ord(text[i]) > 0xFFFF else 1
    return end


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def minimal_change(old: str, new: str) -> tuple[int, int, str]:
    """The smallest single replacement ``old[start:end] -> replacement`` that turns ``old`` into ``new``.

    Sent as one incremental ``didChange``, so the server re-lexes only what changed.
    """
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    return start, end_old, new[start:end_new]
