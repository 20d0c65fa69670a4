"""BrowserGym's high-level action syntax, read by a small parser (no ``eval``, no Python ``ast``).

``click("12")``, ``fill("12", "text")``, ``select_option("12", "option")``, ``press("12", "Enter")``,
``scroll(0, 300)``, ``hover("12")``, ``go_back()``, ``goto("/search?q=tea")``, ``send_msg_to_user("answer")``,
``noop()`` and ``stop()``. Arguments are string literals (single or double quotes, backslash escapes) or
numbers; bids may also be written bare (``click(12)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from densegym.envs.base import ActionError, squash

# name -> argument kinds ("s": string, "n": number, "b": bid)
SIGNATURES: dict[str, tuple[str, ...]] = {
    "click": ("b",),
    "hover": ("b",),
    "fill": ("b", "s"),
    "select_option": ("b", "s"),
    "press": ("b", "s"),
    "scroll": ("n", "n"),
    "go_back": (),
    "goto": ("s",),
    "send_msg_to_user": ("s",),
    "noop": (),
    "stop": (),
}
MAX_TEXT = 4096  # characters of one fill() / message
ACTION_HELP = (
    "Write one action inside <action>...</action>: click(\"bid\"), fill(\"bid\", \"text\"), "
    "select_option(\"bid\", \"option\"), press(\"bid\", \"Enter\"), scroll(dx, dy), hover(\"bid\"), go_back(), "
    "goto(\"/path\") (this site only), send_msg_to_user(\"text\"), stop(). Bids are the [numbers] of the "
    "accessibility tree."
)

_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*\(")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_KEY = re.compile(r"(?:(?:Control|Shift|Alt|Meta|ControlOrMeta)\+)*(?:[A-Za-z][A-Za-z0-9]*|[^\s])")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


@dataclass(frozen=True)
class Action:
    name: str
    args: tuple

    def __str__(self) -> str:
        return f"{self.name}({', '.join(repr(a) if isinstance(a, str) else str(a) for a in self.args)})"


def _string(text: str, i: int) -> tuple[str, int]:
    quote = text[i]
    out: list[str] = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
        elif c == quote:
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise ActionError("a string argument is not closed: a quote is missing")


def parse(text: str) -> Action:
    """The action in ``text`` (the content of the ``<action>`` block); ``ActionError`` says what is wrong."""
    text = text.strip()
    m = _NAME.match(text)
    if m is None:
        raise ActionError(f"expected a call such as click(\"12\"), got {squash(text)!r}")
    name = m.group(1)
    if name not in SIGNATURES:
        raise ActionError(f"unknown action {name!r}; known: {', '.join(SIGNATURES)}")
    i, args = m.end(), []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            raise ActionError(f"{name}(...) is not closed: a ')' is missing")
        c = text[i]
        if c == ")" and not args:
            i += 1
            break
        if c in "'\"":
            value, i = _string(text, i)
            args.append(value)
        else:
            num = _NUMBER.match(text, i)
            bare = _BARE.match(text, i)
            if num and (not bare or num.end() >= bare.end()):
                s = num.group(0)
                args.append(float(s) if any(ch in s for ch in ".eE") else int(s))
                i = num.end()
            elif bare:
                args.append(bare.group(0))
                i = bare.end()
            else:
                raise ActionError(f"unexpected {squash(text[i:], 20)!r} in {name}(...): arguments are quoted "
                                  "strings or numbers")
        while i < len(text) and text[i].isspace():
            i += 1
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        if i < len(text) and text[i] == ")":
            i += 1
            break
        if i >= len(text):
            raise ActionError(f"{name}(...) is not closed: a ')' is missing")
        raise ActionError(f"expected ',' or ')' in {name}(...)")
    if text[i:].strip():
        raise ActionError(f"unexpected text after {name}(...): {squash(text[i:], 30)!r}; write one action")
    kinds = SIGNATURES[name]
    if len(args) != len(kinds):
        raise ActionError(f"{name} takes {len(kinds)} argument{'s' if len(kinds) != 1 else ''}, got {len(args)}")
    out = []
    for kind, value in zip(kinds, args):
        if kind == "n":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ActionError(f"{name} takes numbers, got {value!r}")
            if abs(value) > 100_000:
                raise ActionError(f"{name}: {value} is too far (at most 100000 pixels)")
            out.append(float(value))
        elif kind == "b":
            bid = str(value)
            if isinstance(value, float) or not _BARE.fullmatch(bid) or len(bid) > 32:
                raise ActionError(f"{name}: {squash(bid, 40)!r} is not a bid (the [number] of an element)")
            out.append(bid)
        else:
            if not isinstance(value, str):
                value = str(value)
            if len(value) > MAX_TEXT:
                raise ActionError(f"{name}: the text is {len(value):,} characters long; at most {MAX_TEXT:,} are accepted")
            out.append(value)
    if name == "press" and not (_KEY.fullmatch(out[1]) and len(out[1]) <= 40):
        raise ActionError(f"press: {squash(out[1], 40)!r} is not a key (e.g. 'Enter', 'Tab', 'Control+a')")
    return Action(name, tuple(out))
