"""``benchmarks/bench_train.py --quick`` runs every estimator and prints a row for each (no timing is checked:
the figures belong to the benchmark)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

from benchmarks import bench_train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_quick_run_prints_every_estimator_against_grpo():
    report = bench_train.run(quick=True)
    table = bench_train.format_table(report)
    rows = {tuple(line.split()[:2]) for line in table.splitlines()[2:] if line.split()[:1] in (["sokoban"], ["letter"])}
    assert rows == {("sokoban", e) for e in bench_train.SOKOBAN} | {("letter", e) for e in bench_train.LETTER}
    assert {e for _, e in rows} == {"grpo", "rloo", "turn", "gigpo", "pure", "oprl", "igpo"}
    for r in report["rows"]:
        assert r["action_tokens"] > 0 and r["update_tok_s"] > 0
        if r["estimator"] == "grpo":
            assert r["vs_grpo_cpu"] == r["vs_grpo_wall"] == 1.0
