"""Running the hidden pytest suite against a copy of the workspace, inside the sandbox.

The agent's code runs in the same process as pytest, so it could in principle tamper with the run. The
copy keeps it from touching the workspace, the sandbox from touching anything else; ``conftest.py``
files and third-party plugins are not loaded, ``guard.py`` refuses package code with the means to
tamper, and a test that does not report counts as failed.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from densegym.sandbox import ExecResult, Limits, LocalExecutor, Workspace

HIDDEN_TEST_FILE = "test_hidden.py"


@dataclass(frozen=True)
class TestRun:
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    total: int
    output: str
    timed_out: bool
    output_truncated: bool

    @property
    def fraction(self) -> float:
        return len(self.passed) / self.total if self.total else 0.0

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and len(self.passed) == self.total


def count_tests(source: str) -> list[str]:
    import ast

    return sorted(n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name.startswith("test"))


def run_hidden_tests(workspace: Workspace, tests: str, executor: LocalExecutor, limits: Limits) -> TestRun:
    expected = count_tests(tests)
    run_dir = Path(tempfile.mkdtemp(prefix="densegym-tests-"))
    try:
        workspace.copy_to(run_dir)
        (run_dir / HIDDEN_TEST_FILE).write_text(tests)
        report = run_dir / ".report.xml"
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short", "--no-header", "--noconftest",
                "-o", "junit_family=xunit2", f"--junitxml={report}", HIDDEN_TEST_FILE]  # fmt: skip
        # Third-party pytest plugins of the host (hypothesis, anyio ...) only slow the run down.
        result: ExecResult = executor.run(argv, run_dir, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, limits=limits)
        passed = _passed_tests(report) if not (result.timed_out or result.output_truncated) else set()
        passed &= set(expected)
        output = stable_output(result.output, run_dir)
        return TestRun(
            passed=tuple(sorted(passed)),
            failed=tuple(sorted(set(expected) - passed)),
            total=len(expected),
            output=output,
            timed_out=result.timed_out,
            output_truncated=result.output_truncated,
        )
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


_DURATION = re.compile(r" in \d+(?:\.\d+)?s(?: \(\d+:\d\d:\d\d\))?(?=(?: =+)?$)", re.M)


def stable_output(output: str, run_dir: Path) -> str:
    """pytest's output without what changes from run to run (the temporary run directory, the duration), so
    that the same code gives the same observation."""
    for root in {str(run_dir.resolve()), str(run_dir)}:
        output = output.replace(root + "/", "").replace(root, ".")
    return _DURATION.sub("", output)


def _passed_tests(report: Path) -> set[str]:
    if not report.is_file():
        return set()
    try:
        root = ET.parse(report).getroot()
    except ET.ParseError:
        return set()
    passed = set()
    for case in root.iter("testcase"):
        if not any(child.tag in ("failure", "error", "skipped") for child in case):
            passed.add(case.get("name", ""))
    return passed
