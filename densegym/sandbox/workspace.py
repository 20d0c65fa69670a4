"""A workspace jail: every path an agent names is resolved inside one directory, or refused.

The agent's text is hostile by assumption. A path is refused when it is absolute, climbs out with
``..``, passes through a symlink (an edit or a test run may have planted one), names a hidden or
protected file, or holds control characters. Writes are atomic (temp file, fsync, rename(2)) so that a
crash mid-write never leaves a half-written file for the language server or the tests to see.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import unicodedata
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from densegym import leftovers


def _remove_dir(path: str, token: int | None) -> None:
    shutil.rmtree(path, ignore_errors=True)
    leftovers.release(token)


class PathEscape(ValueError):
    """A path that would leave the workspace, or that the workspace protects."""


_MAX_PATH_CHARS = 255


class Workspace:
    """A temp directory that owns its files, with jailed reads and atomic writes.

    Args:
        files: initial contents, relative POSIX path -> text.
        protected: relative paths the agent may read but never write (e.g. the checker's config).
        max_file_bytes: the largest file a write may produce.
        prefix: the temp directory's name prefix.
    """

    def __init__(
        self,
        files: Mapping[str, str] | None = None,
        *,
        protected: Iterable[str] = (),
        max_file_bytes: int = 1 << 20,
        prefix: str = "densegym-ws-",
    ):
        self._tmp = tempfile.mkdtemp(prefix=prefix)
        # Resolve once: on some systems the temp dir itself sits behind a symlink (/tmp -> /private/tmp).
        self.root = Path(self._tmp).resolve()
        # A workspace that is never cleaned up still goes when collected or at interpreter exit.
        self._remove = weakref.finalize(self, _remove_dir, self._tmp, leftovers.own("dir", self._tmp))
        self.protected = frozenset(protected)
        self.max_file_bytes = int(max_file_bytes)
        for rel, text in (files or {}).items():
            self.write(rel, text, force=True)

    # ---- paths --------------------------------------------------------------------------------

    def relpath(self, path: str) -> str:
        """The canonical relative POSIX path of ``path``, or ``PathEscape`` saying why not."""
        if not isinstance(path, str) or not path.strip():
            raise PathEscape("empty path")
        raw = path.strip()
        if len(raw) > _MAX_PATH_CHARS:
            raise PathEscape(f"path is {len(raw)} characters long; at most {_MAX_PATH_CHARS}")
        if any(unicodedata.category(ch).startswith("C") for ch in raw):
            raise PathEscape("path contains control or invisible characters")
        if "\\" in raw:
            raise PathEscape("use '/' as the path separator")
        pure = PurePosixPath(raw)
        if pure.is_absolute() or raw.startswith("~"):
            raise PathEscape(f"absolute path {raw!r}: paths are relative to the workspace root")
        parts = [p for p in pure.parts if p != "."]
        if not parts:
            raise PathEscape("the path names the workspace root, not a file")
        if ".." in parts:
            raise PathEscape(f"path {raw!r} climbs out of the workspace with '..'")
        if any(p.startswith(".") for p in parts):
            raise PathEscape(f"path {raw!r} names a hidden file or directory")
        return "/".join(parts)

    def resolve(self, path: str) -> Path:
        """The absolute path inside the jail; refuses a symlink anywhere along the way."""
        rel = self.relpath(path)
        current = self.root
        for part in rel.split("/"):
            current = current / part
            if current.is_symlink():
                raise PathEscape(f"path {path!r} passes through a symlink, which the workspace does not follow")
        # Belt and braces: after refusing symlinks, the real path must still be under the root.
        real = Path(os.path.realpath(current))
        if real != self.root and self.root not in real.parents:
            raise PathEscape(f"path {path!r} resolves outside the workspace")
        return current

    # ---- reading ------------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        try:
            return self.resolve(path).is_file()
        except PathEscape:
            return False

    def read(self, path: str) -> str:
        target = self.resolve(path)
        if not target.is_file():
            raise FileNotFoundError(f"no file {self.relpath(path)!r} in the workspace")
        if target.stat().st_size > self.max_file_bytes:
            raise PathEscape(f"{self.relpath(path)!r} is larger than {self.max_file_bytes:,} bytes")
        return target.read_text(encoding="utf-8", errors="replace")

    def files(self, suffix: str = "") -> list[str]:
        """Every regular file (no symlinks, no hidden paths), sorted, as relative POSIX paths."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            for name in filenames:
                full = Path(dirpath) / name
                if name.startswith(".") or not name.endswith(suffix):
                    continue
                if stat.S_ISREG(os.lstat(full).st_mode):
                    out.append(full.relative_to(self.root).as_posix())
        return sorted(out)

    def snapshot(self, suffix: str = "") -> dict[str, str]:
        return {rel: self.read(rel) for rel in self.files(suffix)}

    def digest(self, suffix: str = "") -> str:
        """A content hash of the workspace: identical trees give identical digests."""
        h = hashlib.sha256()
        for rel, text in self.snapshot(suffix).items():
            h.update(rel.encode() + b"\0" + text.encode("utf-8", "surrogatepass") + b"\0")
        return h.hexdigest()

    # ---- writing ------------------------------------------------------------------------------

    def write(self, path: str, text: str, *, force: bool = False) -> str:
        """Atomically replace (or create) ``path`` with ``text``; returns the relative path."""
        rel = self.relpath(path)
        if rel in self.protected and not force:
            raise PathEscape(f"{rel!r} is protected: it configures the checker and cannot be edited")
        data = text.encode("utf-8", "surrogatepass")
        if len(data) > self.max_file_bytes:
            raise PathEscape(f"the new {rel!r} would be {len(data):,} bytes; at most {self.max_file_bytes:,}")
        target = self.resolve(rel)
        parent = target.parent
        # resolve() has checked every existing component for symlinks; the missing ones are new dirs.
        parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and not target.is_file():
            raise PathEscape(f"{rel!r} is not a regular file")
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return rel

    def restore(self, files: Mapping[str, str], suffix: str = "") -> None:
        """Make the tree's ``suffix`` files exactly ``files``: rewrite changed ones, delete extra ones."""
        for rel in self.files(suffix):
            if rel not in files:
                self.resolve(rel).unlink()
        for rel, text in files.items():
            if not self.exists(rel) or self.read(rel) != text:
                self.write(rel, text, force=True)

    def copy_to(self, dest: Path) -> None:
        """Copy every regular file (never a symlink) into ``dest``."""
        for rel in self.files():
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.root / rel, out, follow_symlinks=False)

    # ---- lifetime -----------------------------------------------------------------------------

    def cleanup(self) -> None:
        self._remove()

    @property
    def closed(self) -> bool:
        return not os.path.exists(self._tmp)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
