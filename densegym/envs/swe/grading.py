"""The hidden test run that every SWE reward rests on: the task's FAIL_TO_PASS and PASS_TO_PASS tests, run on
a copy of a workspace whose tests are the pristine ones, with the tamper-proof verdict of
:func:`densegym.sandbox.verdict.run_test_files`."""

from __future__ import annotations

from collections.abc import Mapping

from densegym.envs.swe.task import SWETask, is_test_path
from densegym.sandbox import Limits
from densegym.sandbox.protocol import Executor
from densegym.sandbox.verdict import NodeVerdict, run_test_files


def run_hidden_tests(executor: Executor, task: SWETask, limits: Limits, *, conftest: bool = False,
                     files: Mapping[str, str] | None = None) -> NodeVerdict:  # fmt: skip
    """The task's tests against ``executor``'s workspace (left untouched): on a fork, every test file,
    conftest and pytest configuration of the workspace is replaced by the pristine ones, and the modules
    holding the task's tests run. ``conftest=True`` loads the (pristine) conftest files. ``files``: the
    workspace's files when the caller knows them (the fork is then set up in one round trip)."""
    fork = executor.fork()
    try:
        files = fork.snapshot() if files is None else files
        modules = {node.split("::", 1)[0] for node in task.tests}
        base = {p: t for p, t in files.items() if not is_test_path(p)}
        base.update((p, t) for p, t in task.pristine.items() if p not in modules)
        tests = {p: t for p, t in task.pristine.items() if p in modules}
        return run_test_files(fork, tests, limits, conftest=conftest, base=base)
    finally:
        fork.close()


def potentials(task: SWETask, verdict: NodeVerdict) -> tuple[float, float]:
    """``(phi, psi)``: the share of FAIL_TO_PASS tests passing, and of PASS_TO_PASS tests failing."""
    phi = verdict.passing(task.fail_to_pass) / len(task.fail_to_pass) if task.fail_to_pass else 1.0
    psi = 1.0 - verdict.passing(task.pass_to_pass) / len(task.pass_to_pass) if task.pass_to_pass else 0.0
    return phi, psi


def resolved(task: SWETask, verdict: NodeVerdict) -> bool:
    """Every FAIL_TO_PASS and PASS_TO_PASS test passed, and the run was not tampered with."""
    return not verdict.tampered and potentials(task, verdict) == (1.0, 0.0)
