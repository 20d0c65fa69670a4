"""The documentation lives in the repository: no file points outside it, and the Markdown links resolve.

The project's docs are ``docs/`` (index: ``docs/README.md``). Design notes that once lived outside any clone
(a ``shared`` directory beside the checkout) must not be cited any more: docstrings and comments cite
``docs/algorithms.md section N`` and ``docs/architecture.md`` instead. Relative links in ``README.md`` and
``docs/*.md`` must name files that exist (anchors are not checked).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Built from parts so that this file does not match itself.
FORBIDDEN = ("../" + "shared", "ALGORITHMS" + ".md", "DESIGN" + ".md")

# Directories that are not part of the repository's content: the virtual environment, git's own data, and what
# .gitignore ignores (caches, build outputs, run outputs).
SKIP_DIRS = {".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis", "runs", "build", "dist", ".whl", ".gl"}
SKIP_SUFFIXES = (".egg-info",)

MAX_BYTES = 4 << 20


def _files() -> list[Path]:
    out = []
    stack = [ROOT]
    while stack:
        directory = stack.pop()
        for path in sorted(directory.iterdir()):
            if path.is_symlink():
                continue
            if path.is_dir():
                if path.name not in SKIP_DIRS and not path.name.endswith(SKIP_SUFFIXES):
                    stack.append(path)
            elif path.is_file() and path.stat().st_size <= MAX_BYTES:
                out.append(path)
    return out


def _text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:  # binary
        return None
    return data.decode("utf-8", errors="replace")


def test_no_file_refers_to_docs_outside_the_repository():
    offenders = []
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for needle in FORBIDDEN:
                if needle in line:
                    offenders.append(f"{rel}:{number}: {needle!r} in {line.strip()[:100]!r}")
    assert not offenders, "cite docs/ instead (docs/algorithms.md, docs/architecture.md):\n" + "\n".join(offenders)


_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def relative_links(text: str) -> list[str]:
    """The relative link targets of a Markdown text, outside code blocks and inline code, anchors removed."""
    text = _INLINE_CODE.sub("", _FENCE.sub("", text))
    targets = []
    for match in _LINK.finditer(text):
        target = match.group(1)
        if _EXTERNAL.match(target) or target.startswith("#"):
            continue
        target = target.split("#", 1)[0].split("?", 1)[0]
        if target:
            targets.append(target)
    return targets


def test_the_docs_exist():
    for name in ("README.md", "architecture.md", "envs.md", "algorithms.md", "writing-an-env.md",
                 "writing-an-estimator.md"):
        assert (ROOT / "docs" / name).is_file(), f"docs/{name} is missing"
    assert "docs/README.md" in (ROOT / "README.md").read_text(encoding="utf-8"), "README.md must link docs/README.md"


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_markdown_links_resolve(path: Path):
    broken = []
    for target in relative_links(path.read_text(encoding="utf-8")):
        resolved = (path.parent / target).resolve()
        if not resolved.exists():
            broken.append(target)
        elif ROOT not in (resolved, *resolved.parents):
            broken.append(f"{target} (outside the repository)")
    assert not broken, f"{path.relative_to(ROOT)}: broken links: {broken}"


def test_relative_links_parser():
    text = 'See [a](docs/a.md#x), [b](https://example.org), [c](#top), `[d](no.md)`, ![e](img/e.png "t").\n'
    text += "```\n[f](in_code.md)\n```\n"
    assert relative_links(text) == ["docs/a.md", "img/e.png"]
