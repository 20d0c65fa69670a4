"""Running the hidden pytest suite against a copy of the workspace, inside the sandbox.

The agent's code runs in the same process as pytest, so it could try to tamper with the run. The copy
keeps it from touching the workspace, the sandbox from touching anything else; ``conftest.py`` files and
third-party plugins are not loaded, and ``guard.py`` refuses package code with the usual means to tamper.
The verdict itself comes from ``densegym.sandbox.verdict``: streamed, signed, checked against pytest's
exit status and against canary tests, so that a run that tampered scores nothing
(``Verdict.tampered``). A test that does not report counts as failed.
"""

from __future__ import annotations

import re
from dataclasses import replace

from densegym.sandbox import Limits
from densegym.sandbox.protocol import Executor
from densegym.sandbox.verdict import Verdict, prepare_suite, run_suite

HIDDEN_TEST_FILE = "test_hidden.py"
TestRun = Verdict  # the name the env family used before the verdict moved to the sandbox


def count_tests(source: str) -> list[str]:
    import ast

    return sorted(n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name.startswith("test"))


def run_hidden_tests(executor: Executor, tests: str, limits: Limits) -> Verdict:
    """The hidden tests on a copy of the executor's workspace (the agent's files stay untouched)."""
    run = executor.fork()
    try:
        verdict = run_suite(run, prepare_suite(tests), limits, HIDDEN_TEST_FILE)
        return replace(verdict, text=stable_output(verdict.text, run.root))
    finally:
        run.close()


_DURATION = re.compile(r" in \d+(?:\.\d+)?s(?: \(\d+:\d\d:\d\d\))?(?=(?: =+)?$)", re.M)


def stable_output(output: str, root: str) -> str:
    """pytest's output without what changes from run to run (the run's directory, the duration), so that the
    same code gives the same observation."""
    output = output.replace(root + "/", "").replace(root, ".")
    return _DURATION.sub("", output)
