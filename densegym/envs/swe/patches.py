"""Git-style unified diffs between two in-memory file trees, and their strict application.

A task's bug and gold patches travel as text (in the JSONL and to the agent), so both directions must
round-trip exactly: ``apply_patch(old, make_patch(old, new)) == new``, trailing newlines included. Applying is
strict, never fuzzy: a hunk whose context does not match at its stated position is an error, because a patch
that only applies "somewhere nearby" would let a grader accept a change it never checked. Paths are checked
since a patch may come from an agent: it must not reach outside the repository or into hidden files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

NO_NEWLINE = "\\ No newline at end of file"
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    """A patch that is malformed, names an unsafe path, or does not apply exactly."""


def _lines(text: str) -> list[str]:
    """Split on '\\n' only (str.splitlines also splits on \\r, \\x0c, ... which a diff must keep inside lines)."""
    if not text:
        return []
    parts = [part + "\n" for part in text.split("\n")]
    parts[-1] = parts[-1][:-1]
    return parts if parts[-1] else parts[:-1]


def _hunks(old: str, new: str) -> list[str]:
    """The '@@' hunks (3 lines of context) turning ``old`` into ``new``, each diff line ending in '\\n'."""
    out = []
    for line in list(difflib.unified_diff(_lines(old), _lines(new), n=3, lineterm="\n"))[2:]:
        if line.endswith("\n"):
            out.append(line)
        else:  # the last line of a file without a trailing newline
            out.append(line + "\n" + NO_NEWLINE + "\n")
    return out


def make_patch(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """The git-style unified diff from ``old`` to ``new`` (path -> text), files in sorted order; '' if equal."""
    chunks = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        header = [f"diff --git a/{path} b/{path}\n"]
        if before is None:
            header += ["new file mode 100644\n", "--- /dev/null\n", f"+++ b/{path}\n"]
        elif after is None:
            header += ["deleted file mode 100644\n", f"--- a/{path}\n", "+++ /dev/null\n"]
        else:
            header += [f"--- a/{path}\n", f"+++ b/{path}\n"]
        hunks = _hunks(before or "", after or "")
        if not hunks:  # an empty file created or deleted: git writes the header alone
            header = header[:2]
        chunks.append("".join(header + hunks))
    return "".join(chunks)


def check_path(path: str) -> str:
    """``path`` if it is a safe relative path inside the repository, else PatchError."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or re.match(r"^[A-Za-z]:", path):
        raise PatchError(f"unsafe path in patch: {path!r}")
    for part in parts:
        if part in ("", ".", "..") or part.startswith("."):
            raise PatchError(f"unsafe path in patch: {path!r}")
    return path


class _FilePatch:
    """One file's section of a patch: its path, whether it is created or deleted, and its hunks."""

    def __init__(self, path: str, created: bool, deleted: bool):
        self.path, self.created, self.deleted = path, created, deleted
        self.hunks: list[tuple[int, int, int, int, list[str]]] = []


def _strip_prefix(name: str, prefix: str) -> str | None:
    name = name.split("\t")[0]
    if name == "/dev/null":
        return None
    if not name.startswith(prefix):
        raise PatchError(f"expected a path starting with {prefix!r}, got {name!r}")
    return name[len(prefix):]


def _parse(patch: str) -> list[_FilePatch]:
    """The file sections of ``patch``; PatchError on anything but the format make_patch writes (and git's)."""
    lines = patch.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    files: list[_FilePatch] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("diff --git "):
            raise PatchError(f"expected 'diff --git', got {line!r}")
        match = re.match(r"^diff --git a/(.+) b/(.+)$", line)
        if not match or match.group(1) != match.group(2):
            raise PatchError(f"malformed header {line!r}")
        current = _FilePatch(check_path(match.group(1)), created=False, deleted=False)
        files.append(current)
        i += 1
        while i < len(lines) and not lines[i].startswith(("--- ", "@@", "diff --git ")):
            current.created |= lines[i].startswith("new file mode")
            current.deleted |= lines[i].startswith("deleted file mode")
            i += 1
        if i < len(lines) and lines[i].startswith("--- "):
            if i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
                raise PatchError(f"{current.path}: '---' without '+++'")
            before, after = _strip_prefix(lines[i][4:], "a/"), _strip_prefix(lines[i + 1][4:], "b/")
            for name in (before, after):
                if name is not None and name != current.path:
                    raise PatchError(f"{current.path}: header names {name!r}")
            current.created |= before is None
            current.deleted |= after is None
            i += 2
        while i < len(lines) and lines[i].startswith("@@"):
            header = _HUNK.match(lines[i])
            if not header:
                raise PatchError(f"{current.path}: malformed hunk header {lines[i]!r}")
            old_start, old_len, new_start, new_len = (
                int(g) if g is not None else 1 for g in header.groups()
            )
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i][:1] in (" ", "-", "+", "\\"):
                body.append(lines[i])
                i += 1
            current.hunks.append((old_start, old_len, new_start, new_len, body))
    return files


def _apply_file(path: str, text: str, hunks: list) -> str:
    """``text`` with ``hunks`` applied, each exactly at its stated position."""
    source = _lines(text)
    out: list[str] = []
    cursor = 0  # index into source of the next line not yet copied
    for number, (old_start, old_len, _new_start, new_len, body) in enumerate(hunks, 1):
        where = f"{path}, hunk {number} (@@ -{old_start},{old_len} @@)"
        removed: list[str] = []
        added: list[str] = []
        last: list[list[str]] = []
        for line in body:
            if line.startswith("\\"):
                for side in last:  # the previous line has no trailing newline
                    side[-1] = side[-1][:-1]
                continue
            kind, content = line[0], line[1:] + "\n"
            last = [removed, added] if kind == " " else [removed] if kind == "-" else [added]
            for side in last:
                side.append(content)
        if len(removed) != old_len or len(added) != new_len:
            raise PatchError(f"{where}: line counts do not match the header")
        start = old_start - 1 if old_len else old_start
        if start < cursor or source[start:start + old_len] != removed:
            raise PatchError(f"{where}: does not apply")
        out += source[cursor:start] + added
        cursor = start + old_len
    return "".join(out + source[cursor:])


def apply_patch(files: Mapping[str, str], patch: str) -> dict[str, str]:
    """A new mapping: ``files`` with ``patch`` applied strictly (PatchError naming the file and hunk if not)."""
    result = dict(files)
    for section in _parse(patch):
        path = section.path
        if section.created and path in result:
            raise PatchError(f"{path}: the patch creates a file that exists")
        if not section.created and path not in result:
            raise PatchError(f"{path}: the patch changes a file that does not exist")
        text = _apply_file(path, "" if section.created else result[path], section.hunks)
        if section.deleted:
            if text:
                raise PatchError(f"{path}: the patch deletes the file but leaves text in it")
            del result[path]
        else:
            result[path] = text
    return result


def changed_files(patch: str) -> list[str]:
    """The paths ``patch`` touches, in its order."""
    return [section.path for section in _parse(patch)]
