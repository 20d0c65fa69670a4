"""Suppression comments never count as fixes: the checker sees them neutralised.

``# type: ignore``, ``# pyright: ignore[...]`` and file-level rule comments (``# pyright: basic``,
``# pyright: reportCallIssue=false``) would silence a diagnostic without fixing anything, and earn the
``diagnostics`` and ``safety`` rewards and the "no checker error" half of success for it. The language
server is therefore given each file with every such directive disarmed (``type:`` becomes ``type;``),
character for character the same length so that every position the agent sees still matches the server's.
The files on disk, which the tests import, are left as the agent wrote them.
"""

from __future__ import annotations

import io
import re
import tokenize

# The checkers' directive comments: pyright/basedpyright, mypy and the typing standard's ``type:``.
_DIRECTIVE = re.compile(r"(#\s*(?:type|pyright|basedpyright|mypy)\s*):", re.I)


def _disarm(comment: str) -> str:
    return _DIRECTIVE.sub(lambda m: m.group(1) + ";", comment)


def checker_text(text: str) -> str:
    """``text`` with every suppression directive in a comment disarmed, positions unchanged."""
    if "#" not in text or not _DIRECTIVE.search(text):
        return text
    lines = text.split("\n")
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # Unparsable code: disarm whatever looks like a directive comment (a string that looks like one is
        # changed too, which only matters to the checker's view of a file that does not parse anyway).
        return "\n".join(_disarm(line) for line in lines)
    for tok in tokens:
        (row, col), _ = tok.start, tok.end
        line = lines[row - 1]
        lines[row - 1] = line[:col] + _disarm(line[col:])
    return "\n".join(lines)
