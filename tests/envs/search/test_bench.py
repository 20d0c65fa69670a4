"""``benchmarks/bench_search.py`` on a small world: every section it runs here produces its figures (no timing
is checked: the figures belong to the benchmark)."""

from __future__ import annotations

from tests.helpers import require_import

require_import("rank_bm25", "pip install rank_bm25")

from benchmarks import bench_search  # noqa: E402


def test_quick_run_reports_bm25_env_dense_parts_and_memory(tmp_path):
    report = bench_search.run([2000], quick=True, sections={"bm25", "env", "dense-parts", "memory"}, cache=tmp_path)
    (bm25,) = report["bm25"]
    assert bm25["docs"] == 2000 and bm25["bm25s_ms"] > 0 and bm25["rank_bm25_ms"] > 0 and bm25["ratio"] > 0
    assert bm25["top1_agreement"] >= 0.5  # two BM25 implementations over the same tokens mostly agree
    (env,) = report["env"]
    assert env["step_ms"] > 0 and env["reset_ms"] > 0
    (parts,) = report["dense_parts"]
    assert parts["docs"] == 2000 and parts["n"] == 20 and parts["faiss_ms"] > 0
    assert parts["hybrid_ms"] > parts["dense_ms"] > parts["embed_ms"] > 0  # medians of per-query sums of parts
    memory = report["memory"]
    assert memory["copy_uss_mib"] > memory["shared_uss_mib"]  # an index per env costs private memory
    table = bench_search.format_report(report)
    assert "rank_bm25 / bm25s" in table and "2,000 |" in table and "copy / shared (PSS)" in table
    assert "FAISS flat search" in table
    skipped = bench_search.bench_bm25(2000, 5, tmp_path, rank_max=1000)
    assert "skipped above 1,000 documents" in skipped["rank_bm25"] and "ratio" not in skipped
