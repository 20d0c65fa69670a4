"""Every bundled task, through the env's own hidden run in the bubblewrap sandbox: the gold patch resolves it
(outcome 1) and the unpatched repository does not (every FAIL_TO_PASS test fails, every PASS_TO_PASS test
passes). Slow (two suite runs per task, ~10 minutes on 2 cores): ``make test`` deselects it and CI runs it after
(``make test-slow``); a sample of tasks runs in the default suite (``test_env.py``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from densegym.envs.swe.grading import potentials, resolved, run_hidden_tests
from densegym.envs.swe.task import bundled_task, bundled_task_ids
from densegym.sandbox import Limits, LocalExecutor, Workspace

from .conftest import require_executor

pytestmark = pytest.mark.slow
LIMITS = Limits(timeout_s=120, max_output_bytes=1 << 20)


def _check(template: LocalExecutor, task_id: str) -> list[str]:
    task = bundled_task(task_id)
    problems = []
    for label, files in (("unpatched", task.files), ("gold", task.fixed_files())):
        executor = template.with_workspace(Workspace(files, max_file_bytes=4 << 20))
        try:
            verdict = run_hidden_tests(executor, task, LIMITS)
        finally:
            executor.close()
        if verdict.tampered or verdict.timed_out or verdict.crashed:
            problems.append(f"{task_id} {label}: tampered={verdict.reasons} timed_out={verdict.timed_out}")
        elif label == "gold" and not resolved(task, verdict):
            problems.append(f"{task_id}: the gold patch leaves {potentials(task, verdict)} (phi, psi)")
        elif label == "unpatched" and potentials(task, verdict) != (0.0, 0.0):
            problems.append(f"{task_id}: the unpatched repository gives {potentials(task, verdict)} (phi, psi)")
    return problems


def test_every_bundled_task_is_resolved_by_its_gold_patch_and_not_without_it():
    require_executor("local")
    template = LocalExecutor(limits=LIMITS)
    ids = bundled_task_ids()
    assert len(ids) >= 300
    with ThreadPoolExecutor(2) as pool:
        problems = [p for found in pool.map(lambda t: _check(template, t), ids) for p in found]
    assert problems == []
