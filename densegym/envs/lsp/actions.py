"""Parsing the agent's action text into a command (no state is touched here)."""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from densegym.envs.base import ActionError, extract_tag, squash
from densegym.envs.lsp.positions import normalise_newlines

COMMANDS = ("files", "view", "edit", "diagnostics", "hover", "definition", "references", "rename", "run_tests", "submit")
SELECTOR_COMMANDS = ("view", "edit", "hover", "definition", "references", "rename")
MUTATING = ("edit", "rename")

HELP = (
    "Accepted, inside <action></action>: files | view SEL | edit SEL, then the new text on the following lines | "
    "diagnostics [FILE] | hover SEL | definition SEL | references SEL | rename SEL NEW_NAME | run_tests | submit. "
    "SEL is a file (pkg/mod.py), lines (pkg/mod.py:3-7), a cursor (pkg/mod.py@L3:C5), a range "
    "(pkg/mod.py@R(3,1->3,9)), a symbol (py://pkg.mod#Class.method, or ast://[module=pkg.mod]/[class=Class]/[def=method]) "
    "or an anchor (anchor://pkg/mod.py#\"code\")."
)


@dataclass(frozen=True)
class Command:
    name: str
    selector: str = ""
    body: str = ""
    new_name: str = ""

    @property
    def mutating(self) -> bool:
        return self.name in MUTATING


def parse(text: str, tag: str = "action") -> Command:
    block = extract_tag(text, tag)
    if block is None:
        raise ActionError("no <action>...</action> block found")
    block = normalise_newlines(block)
    if "\x00" in block:
        raise ActionError("the action contains a NUL character")
    head, _, body = block.lstrip("\n").partition("\n")
    words = head.strip().split(None, 1)
    if not words:
        raise ActionError("the <action> block is empty")
    name = words[0].lower()
    rest = words[1].strip() if len(words) > 1 else ""
    if name not in COMMANDS:
        raise ActionError(f"unknown command {squash(words[0])!r}; commands: {', '.join(COMMANDS)}")
    if name in ("files", "run_tests", "submit"):
        if rest or body.strip():
            raise ActionError(f"{name} takes no arguments")
        return Command(name)
    if name == "diagnostics":
        return Command(name, selector=rest)
    if not rest:
        raise ActionError(f"{name} needs a selector, e.g. {name} pkg/mod.py" + (" NEW_NAME" if name == "rename" else ""))
    if name == "rename":
        selector, _, new_name = rest.rpartition(" ")
        new_name = new_name.strip()
        if not selector.strip() or not new_name.isidentifier() or keyword.iskeyword(new_name) or not new_name.isascii():
            raise ActionError("rename takes a selector and a new Python identifier, e.g. rename py://pkg.mod#old new")
        return Command(name, selector=selector.strip(), new_name=new_name)
    if name == "edit":
        return Command(name, selector=rest, body=body)
    if body.strip():
        raise ActionError(f"{name} takes only a selector on its line; text after it is only for edit")
    return Command(name, selector=rest)
