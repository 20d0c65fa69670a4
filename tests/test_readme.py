"""The README's Python snippets run as written: a newcomer copies them first."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def block_with(marker: str) -> str:
    found = [b for b in python_blocks() if marker in b]
    assert len(found) == 1, f"expected one README python block with {marker!r}, found {len(found)}"
    return found[0]


def run_script(code: str, cwd: Path) -> subprocess.CompletedProcess:
    script = cwd / "snippet.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_quickstart_runs(tmp_path):
    proc = run_script(block_with('gym.make("densegym/Sokoban-v0", dim_room=(7, 7)'), tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_envpool_and_collect_snippet_runs_and_writes_its_trajectories(tmp_path):
    proc = run_script(block_with("class AlwaysLeft"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 5  # one line per task, then the count on disk
    assert lines[-1] == "8 trajectories on disk"
    for line in lines[:4]:
        group = eval(line)  # noqa: S307 - the snippet prints plain tuples
        assert len(group) == 2 and all(turns <= 5 for _, turns, _ in group)


@pytest.mark.parametrize("marker", ["class Halving"])
def test_skeletons_are_valid_python(marker):
    compile(block_with(marker), "README.md", "exec")
