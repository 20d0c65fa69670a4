"""``benchmarks/bench_learning.py --smoke``: every arm trains from one warm start over paired seeds, and the
report holds what the README's table is built from (the figures themselves belong to the benchmark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

REPO = Path(__file__).resolve().parents[2]


def test_smoke_run_trains_every_arm_over_paired_seeds_and_reports_against_the_baseline(tmp_path):
    from benchmarks.bench_learning import ARMS, BASELINE

    out = tmp_path / "bench"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_learning", "--smoke", "--threads", "1", "--out-dir", str(out),
         "--json", str(tmp_path / "report.json")],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report == json.loads((out / "report.json").read_text())
    assert set(report["arms"]) == set(ARMS) and report["seeds"] == 2
    acc = report["warm_start"]["move_accuracy"]
    assert acc["states"] > 0 and 0 <= acc["accuracy"] <= 1 and 0 < acc["chance"] < 1
    for arm, entry in report["arms"].items():
        finals = entry["finals"]
        assert set(finals) == {"0", "1"} and all(0 <= v <= 1 for v in finals.values())
        assert entry["final"]["low"] <= entry["final"]["mean"] <= entry["final"]["high"]
        if arm == BASELINE:
            assert "vs_baseline" not in entry
        else:
            diffs = [finals[s] - report["arms"][BASELINE]["finals"][s] for s in finals]
            assert entry["vs_baseline"]["diff"] == pytest.approx(sum(diffs) / len(diffs))
        # every arm of a seed starts from the same weights and is evaluated on the same held-out levels
    for seed in ("0", "1"):
        starts = [next(r for r in report["histories"][a][seed] if r["step"] == 0 and "eval/success" in r) for a in ARMS]
        evals = {json.dumps({k: v for k, v in r.items() if k.startswith("eval/")}, sort_keys=True) for r in starts}
        assert len(evals) == 1
    assert (out / "learning.png").stat().st_size > 10_000
    table = proc.stdout
    assert "held-out move accuracy" in table
    assert {line.split()[0] for line in table.splitlines() if line.split()[:1] and line.split()[0] in ARMS} == set(ARMS)
    # --table re-reads a finished (or stopped) run and recomputes the same figures from its histories
    again = subprocess.run([sys.executable, "-m", "benchmarks.bench_learning", "--table", str(out / "report.json")],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    from benchmarks.bench_learning import format_table, resummarize

    assert again.stdout.strip() == format_table(resummarize(report)).strip() == format_table(report).strip()
