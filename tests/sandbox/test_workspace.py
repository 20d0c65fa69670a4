"""The workspace jail: every way out is refused, writes are atomic and stay inside."""

from __future__ import annotations

import os

import pytest

from densegym.sandbox import PathEscape, Workspace


@pytest.fixture
def ws():
    with Workspace({"pkg/a.py": "x = 1\n", "cfg.json": "{}"}, protected=("cfg.json",)) as w:
        yield w


@pytest.mark.parametrize(
    "path",
    ["../x.py", "pkg/../../x.py", "/etc/passwd", "~/x", "pkg\\a.py", ".git/config", "pkg/.hidden", "", "  ",
     "a\x00b", "pkg/a\u202e.py", "x" * 300, "."],
)  # fmt: skip
def test_escapes_are_refused(ws, path):
    with pytest.raises(PathEscape):
        ws.write(path, "boom")
    assert ws.files() == ["cfg.json", "pkg/a.py"]


def test_symlink_is_never_followed(ws, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    os.symlink(outside, ws.root / "pkg" / "link.py")
    os.symlink(tmp_path, ws.root / "dirlink")
    with pytest.raises(PathEscape, match="symlink"):
        ws.read("pkg/link.py")
    with pytest.raises(PathEscape, match="symlink"):
        ws.write("pkg/link.py", "overwritten")
    with pytest.raises(PathEscape, match="symlink"):
        ws.write("dirlink/new.py", "x")
    assert outside.read_text() == "secret"
    assert not (tmp_path / "new.py").exists()
    assert "pkg/link.py" not in ws.files()  # listings skip symlinks too


def test_protected_file_cannot_be_written(ws):
    with pytest.raises(PathEscape, match="protected"):
        ws.write("cfg.json", "{'typeCheckingMode': 'off'}")
    assert ws.read("cfg.json") == "{}"


def test_oversized_write_is_refused(ws):
    with pytest.raises(PathEscape, match="bytes"):
        ws.write("pkg/a.py", "x" * (ws.max_file_bytes + 1))
    assert ws.read("pkg/a.py") == "x = 1\n"


def test_write_is_atomic_and_leaves_no_temp_files(ws):
    ws.write("pkg/a.py", "x = 2\n")
    ws.write("pkg/sub/b.py", "y = 'ünï😀'\n")
    assert ws.read("pkg/sub/b.py") == "y = 'ünï😀'\n"
    leftovers = [n for _, _, names in os.walk(ws.root) for n in names if n.startswith(".tmp-")]
    assert leftovers == []


def test_digest_and_restore(ws):
    before = ws.digest()
    snap = ws.snapshot()
    ws.write("pkg/a.py", "x = 3\n")
    ws.write("pkg/new.py", "")
    assert ws.digest() != before
    ws.restore(snap)
    assert ws.digest() == before and ws.files() == sorted(snap)


def test_cleanup_removes_everything():
    w = Workspace({"a.py": "1"})
    root = w.root
    w.cleanup()
    assert not root.exists() and w.closed
