"""make_patch / apply_patch: git's format, exact round trips, strict application, safe paths."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from densegym.envs.swe.patches import PatchError, apply_patch, changed_files, make_patch


def test_modified_file_in_git_format():
    patch = make_patch({"pkg/a.py": "x = 1\ny = 2\nz = 3\n"}, {"pkg/a.py": "x = 1\ny = 20\nz = 3\n"})
    assert patch == (
        "diff --git a/pkg/a.py b/pkg/a.py\n--- a/pkg/a.py\n+++ b/pkg/a.py\n"
        "@@ -1,3 +1,3 @@\n x = 1\n-y = 2\n+y = 20\n z = 3\n"
    )


def test_created_and_deleted_files_and_sorted_order():
    patch = make_patch({"b.txt": "gone\n"}, {"a.txt": "new\n"})
    assert patch == (
        "diff --git a/a.txt b/a.txt\nnew file mode 100644\n--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+new\n"
        "diff --git a/b.txt b/b.txt\ndeleted file mode 100644\n--- a/b.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n"
    )
    assert changed_files(patch) == ["a.txt", "b.txt"]
    assert apply_patch({"b.txt": "gone\n"}, patch) == {"a.txt": "new\n"}


def test_missing_trailing_newline_is_marked_and_kept():
    old, new = {"f": "a\nb"}, {"f": "a\nb\n"}
    patch = make_patch(old, new)
    assert "-b\n\\ No newline at end of file\n+b\n" in patch
    assert apply_patch(old, patch) == new
    assert apply_patch(new, make_patch(new, old)) == old


def test_no_difference_is_empty():
    assert make_patch({"a": "x\n"}, {"a": "x\n"}) == ""
    assert apply_patch({"a": "x\n"}, "") == {"a": "x\n"}


def test_empty_files_created_and_deleted():
    assert apply_patch({}, make_patch({}, {"e": ""})) == {"e": ""}
    assert apply_patch({"e": ""}, make_patch({"e": ""}, {})) == {}


def test_context_mismatch_names_file_and_hunk():
    old = {"m.py": "".join(f"line {i}\n" for i in range(30))}
    new = {"m.py": old["m.py"].replace("line 3\n", "LINE 3\n").replace("line 25\n", "LINE 25\n")}
    patch = make_patch(old, new)
    drifted = {"m.py": old["m.py"].replace("line 24\n", "line twenty-four\n")}
    with pytest.raises(PatchError, match=r"m\.py, hunk 2"):
        apply_patch(drifted, patch)
    shifted = {"m.py": "extra\n" + old["m.py"]}  # strict: no search for the hunk elsewhere
    with pytest.raises(PatchError, match="hunk 1"):
        apply_patch(shifted, patch)


def test_patch_on_missing_file_or_existing_target():
    with pytest.raises(PatchError, match="does not exist"):
        apply_patch({}, make_patch({"a": "1\n"}, {"a": "2\n"}))
    with pytest.raises(PatchError, match="exists"):
        apply_patch({"a": "1\n"}, make_patch({}, {"a": "1\n"}))


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.py", "pkg/../../x", ".git/config", "pkg/.hidden"])
def test_unsafe_paths_rejected(path):
    patch = f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b\n"
    with pytest.raises(PatchError, match="unsafe path"):
        apply_patch({path: "a\n"}, patch)


def test_malformed_patch_rejected():
    with pytest.raises(PatchError):
        apply_patch({"a": "x\n"}, "not a patch\n")
    with pytest.raises(PatchError, match="line counts"):
        apply_patch({"a": "x\n"}, "diff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -1,2 +1 @@\n-x\n")


def test_git_apply_compatible_output(tmp_path):
    """git itself accepts what make_patch writes (when git is installed)."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    old = {"pkg/a.py": "a\nb\nc", "pkg/gone.py": "x\n"}
    new = {"pkg/a.py": "a\nB\nc\n", "pkg/new.py": "n\n"}
    for rel, text in old.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "p.diff").write_text(make_patch(old, new))
    subprocess.run(["git", "apply", "p.diff"], cwd=tmp_path, check=True)
    assert (tmp_path / "pkg/a.py").read_text() == new["pkg/a.py"]
    assert not (tmp_path / "pkg/gone.py").exists()
    assert (tmp_path / "pkg/new.py").read_text() == "n\n"


_line = st.text(alphabet=st.sampled_from(list("ab \t\r\x0c#")), max_size=4)
_text = st.lists(_line, max_size=12).map("\n".join) | st.lists(_line, max_size=12).map(lambda ls: "\n".join(ls) + "\n")
_tree = st.dictionaries(st.sampled_from(["a.py", "pkg/b.py", "pkg/sub/c.txt", "d"]), _text, max_size=4)


@settings(max_examples=150, deadline=None)
@given(_tree, _tree)
def test_round_trip(old, new):
    patch = make_patch(old, new)
    assert apply_patch(old, patch) == new
    assert sorted(changed_files(patch)) == sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))


def test_round_trip_on_edited_source_files():
    """Many seeded edits of a realistic file: lines changed, inserted and deleted at the ends and inside."""
    rng = random.Random(0)
    base = [f"    value_{i} = compute({i})\n" for i in range(60)]
    for _ in range(100):
        lines = list(base)
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(lines) + 1)
            action = rng.choice(["insert", "delete", "change"])
            if action == "insert" or not lines or i == len(lines):
                lines.insert(i, f"    inserted({rng.random():.3f})\n")
            elif action == "delete":
                del lines[i]
            else:
                lines[i] = lines[i].upper()
        new_text = "".join(lines)
        if rng.random() < 0.3:
            new_text = new_text.rstrip("\n")
        old, new = {"m.py": "".join(base)}, {"m.py": new_text}
        assert apply_patch(old, make_patch(old, new)) == new
        assert apply_patch(new, make_patch(new, old)) == old
