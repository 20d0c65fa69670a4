"""Parsing the agent's text into an SWE command (no state is touched here).

Two action formats:

* **tools** (default), SWE-agent / OpenHands-style, inside the last ``<action>...</action>``: the first line is
  the command and its arguments, what follows is its body::

      bash                      the shell command(s) on the next lines (or on the same line)
      view PATH [START [END]]   a file with line numbers (a range of it), or a directory's tree
      str_replace PATH          then one SEARCH/REPLACE block: <<<<<<< SEARCH / old / ======= / new / >>>>>>> REPLACE
      insert PATH LINE          then the text to insert after line LINE (0: at the top)
      create PATH               then the new file's text (refused if the file exists)
      undo_edit PATH            revert the last editor change to PATH
      find TEXT                 files whose name or content contains TEXT (case-sensitive, literal)
      submit                    end the episode; the repository as it is now is the patch

* **bash**, mini-swe-agent-style: the reply's last fenced ```` ```bash ```` block (or an ``<action>`` block) is
  a shell command; a command whose output starts with ``COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`` submits.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from densegym.envs.base import ActionError, extract_tag, squash

COMMANDS = ("bash", "view", "str_replace", "insert", "create", "undo_edit", "find", "submit")
EDITS = ("str_replace", "insert", "create", "undo_edit")
SUBMIT_SENTINEL = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
_MAX_COMMAND_CHARS = 20_000

TOOLS_HELP = (
    "Reply with one <action></action> block whose first line is a command: bash (the shell command on the next "
    "lines) | view PATH [START [END]] | str_replace PATH, then <<<<<<< SEARCH, the exact old text, =======, the "
    "new text, >>>>>>> REPLACE | insert PATH LINE, then the text | create PATH, then the text | undo_edit PATH | "
    "find TEXT | submit. Paths are relative to the repository root."
)
BASH_HELP = (
    "Reply with exactly one ```bash code block holding the shell command to run in the repository. When the fix "
    f"is done, run `echo {SUBMIT_SENTINEL}` on its own to submit."
)

_BLOCK = re.compile(r"^<{7} SEARCH\n(.*?)^={7}\n(.*?)^>{7} REPLACE\s*$", re.DOTALL | re.MULTILINE)
_FENCE = re.compile(r"```(?:bash|sh)\s*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Command:
    name: str
    path: str = ""
    body: str = ""  # bash: the command; create/insert: the text; str_replace: the new text; find: the text
    old: str = ""  # str_replace: the text to replace
    start: int | None = None  # view: first line; insert: the line after which to insert
    end: int | None = None

    @property
    def edits(self) -> bool:
        return self.name in EDITS


def _clean(block: str) -> str:
    block = block.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in block:
        raise ActionError("the action contains a NUL character")
    if len(block) > _MAX_COMMAND_CHARS:
        raise ActionError(f"the action is {len(block):,} characters long; at most {_MAX_COMMAND_CHARS:,}")
    return block


def parse_bash_only(text: str) -> Command:
    """mini-swe-agent's format: the last ```bash block (or ``<action>`` block) is the command."""
    fences = _FENCE.findall(text)
    block = fences[-1] if fences else extract_tag(text, "action")
    if block is None:
        raise ActionError("no ```bash code block found: reply with exactly one ```bash block holding the command")
    command = _clean(block).strip()
    if not command:
        raise ActionError("the bash block is empty")
    return Command("bash", body=command)


def parse(text: str, tag: str = "action") -> Command:
    block = extract_tag(text, tag)
    if block is None:
        raise ActionError(f"no <{tag}>...</{tag}> block found")
    block = _clean(block).lstrip("\n")
    head, _, body = block.partition("\n")
    words = head.strip().split(None, 1)
    if not words:
        raise ActionError(f"the <{tag}> block is empty")
    name, rest = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
    if name not in COMMANDS:
        raise ActionError(f"unknown command {squash(words[0])!r}; commands: {', '.join(COMMANDS)}")
    if name == "submit":
        if rest or body.strip():
            raise ActionError("submit takes no arguments")
        return Command(name)
    if name == "bash":
        command = "\n".join(p for p in (rest, body) if p.strip()).strip()
        if not command:
            raise ActionError("bash needs a command, e.g. <action>bash\nls</action>")
        return Command(name, body=command)
    if name == "find":
        needle = rest or body.strip()
        if not needle or "\n" in needle:
            raise ActionError("find takes one line of text to look for, e.g. find def parse_amount")
        return Command(name, body=needle)
    try:
        args = shlex.split(rest)
    except ValueError as exc:
        raise ActionError(f"cannot read the arguments of {name}: {exc}") from None
    if not args:
        raise ActionError(f"{name} needs a path, e.g. {name} pkg/module.py")
    path, extra = args[0], args[1:]
    if name == "view":
        numbers = _ints(extra, name, 2)
        if body.strip():
            raise ActionError("view takes only a path and an optional line range on its line")
        return Command(name, path=path, start=numbers[0] if numbers else None, end=numbers[1] if len(numbers) > 1 else None)
    if name == "undo_edit":
        if extra or body.strip():
            raise ActionError("undo_edit takes only a path")
        return Command(name, path=path)
    if name == "create":
        if extra:
            raise ActionError("create takes a path on its line and the file's text on the following lines")
        return Command(name, path=path, body=body)
    if name == "insert":
        numbers = _ints(extra, name, 1)
        if len(numbers) != 1:
            raise ActionError("insert needs a path and a line number, e.g. insert pkg/mod.py 12, then the text")
        return Command(name, path=path, body=body, start=numbers[0])
    # str_replace
    if extra:
        raise ActionError("str_replace takes a path on its line, then a SEARCH/REPLACE block")
    blocks = _BLOCK.findall(body if body.endswith("\n") else body + "\n")
    if len(blocks) != 1:
        raise ActionError(
            "str_replace needs exactly one block: a line '<<<<<<< SEARCH', the exact old text, a line '=======', "
            f"the new text, a line '>>>>>>> REPLACE' (found {len(blocks)})"
        )
    old, new = blocks[0]
    if not old.strip():
        raise ActionError("the SEARCH text is empty: quote the exact lines to replace")
    return Command(name, path=path, old=old, body=new)


def _ints(words: list[str], name: str, most: int) -> list[int]:
    if len(words) > most:
        raise ActionError(f"{name}: too many arguments ({' '.join(words[:4])})")
    try:
        numbers = [int(w) for w in words]
    except ValueError:
        raise ActionError(f"{name}: line numbers must be integers, got {' '.join(words)!r}") from None
    if any(n < 0 for n in numbers):
        raise ActionError(f"{name}: line numbers are 0 or more")
    return numbers
