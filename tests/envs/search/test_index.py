"""The corpus store and the bm25s index: round trips, id look-ups, the on-disk cache keyed by the corpus
fingerprint and the settings, memory-mapping, one index per worker process, and answer normalisation."""

from __future__ import annotations

import json
import shutil

import bm25s
import numpy as np
import pytest

from densegym import resources
from densegym.envs.search.corpus import Corpus, Document, write_corpus
from densegym.envs.search.retrievers import BM25Retriever, Retriever, shared_bm25, shared_corpus
from densegym.envs.search.text import exact_match, f1, normalize_answer, tokenize
from densegym.envs.search.vocab import MappedVocab, write_vocab

DOCS = [
    Document("a1", "Orlen Works", "Orlen Works is a glassmaking company founded in 1901 in Vesk."),
    Document("b2", "Vesk", "Vesk is a city on the Mara river. Its mayor is Ilsa Dorn."),
    Document("c3", "Ilsa Dorn", "Ilsa Dorn (born 1950) is a potter from Vesk. Ünïcödé naïve café."),
    Document("z9", "Empty", ""),
]


@pytest.fixture
def corpus(tmp_path):
    c = write_corpus(DOCS, tmp_path / "corpus", source="test")
    yield c
    c.close()


def test_corpus_round_trip_and_id_lookup(corpus, tmp_path):
    assert len(corpus) == 4 and list(corpus) == DOCS
    for i, doc in enumerate(DOCS):
        assert corpus.index_of(doc.id) == i and corpus.get(doc.id) == doc
    for missing in ("", "a", "a10", "zz", "\ud800", "c3 "):
        assert corpus.index_of(missing) is None
    again = Corpus(tmp_path / "corpus")
    assert again.fingerprint == corpus.fingerprint and again.doc(2) == DOCS[2]
    assert isinstance(again._strings["texts"].offsets, np.memmap)
    changed = write_corpus(DOCS[:3] + [Document("z9", "Empty", ".")], tmp_path / "other")
    assert changed.fingerprint != corpus.fingerprint  # one character changes the fingerprint
    with pytest.raises(ValueError, match="duplicate document id 'a1'"):
        write_corpus(DOCS + [Document("a1", "x", "y")], tmp_path / "dup")
    assert not (tmp_path / "dup").exists()
    assert Document.from_contents("a1", DOCS[0].contents()) == DOCS[0]


def test_bm25_finds_the_right_document_and_is_a_retriever(corpus, tmp_path):
    r = BM25Retriever(corpus, cache_dir=tmp_path / "idx")
    assert isinstance(r, Retriever)
    hits = r.search(["potter born 1950", "mara river mayor", "the of and", "naïve café", "nothing-matches-this"], k=2)
    assert [h.doc_id for h in hits[0]][0] == "c3" and hits[0][0].title == "Ilsa Dorn"
    assert hits[1][0].doc_id == "b2" and hits[1][0].score > 0
    assert hits[2] == [] and hits[4] == []  # stopwords only; unknown words: no hit, no error
    assert hits[3][0].doc_id == "c3"  # non-ASCII terms are indexed
    assert all(len(row) <= 2 for row in hits)
    assert r.search(["Vesk"], k=100)[0] and len(r.search(["Vesk"], k=100)[0]) <= 4


def test_the_index_is_cached_by_corpus_fingerprint_and_settings_and_memory_mapped(corpus, tmp_path):
    first = BM25Retriever(corpus, cache_dir=tmp_path / "idx")
    second = BM25Retriever(corpus, cache_dir=tmp_path / "idx")
    assert first.built and not second.built and first.path == second.path
    assert isinstance(second.model.scores["data"], np.memmap)
    other = BM25Retriever(corpus, cache_dir=tmp_path / "idx", k1=0.9)
    assert other.built and other.path != first.path
    assert other.search(["Vesk"], 3)[0][0].score != first.search(["Vesk"], 3)[0][0].score
    corpus2 = write_corpus(DOCS[:3], tmp_path / "corpus2")
    assert BM25Retriever(corpus2, cache_dir=tmp_path / "idx").path != first.path
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "idx").iterdir()) == ["bm25"] * 3  # no temp dirs left


def test_one_index_per_worker_process(corpus, tmp_path):
    try:
        c1, c2 = shared_corpus(corpus.path), shared_corpus(corpus.path)
        r1 = shared_bm25(c1, cache_dir=tmp_path / "idx")
        r2 = shared_bm25(c2, cache_dir=tmp_path / "idx")
        assert c1 is c2 and r1 is r2
        assert shared_bm25(c1, cache_dir=tmp_path / "idx", k1=1.2) is not r1
    finally:
        resources.close_all()


def test_search_r1_normalisation_em_and_f1():
    assert normalize_answer("The  Orlen-Works, Ltd.!") == "orlenworks ltd"
    assert normalize_answer("An apple a day") == "apple day"
    assert exact_match("the 1,171", ["1171"]) == 1.0 and exact_match("1171 people", "1171") == 0.0
    assert f1("1171 people", "1171") == pytest.approx(2 / 3)
    assert f1("", "x") == 0.0 and f1("the", "a") == 1.0  # both normalise to nothing
    assert tokenize("The Orlen Works of VESK, 1901") == ["orlen", "works", "vesk", "1901"]


def test_top_k_breaks_ties_by_document_order_and_drops_zero_scores():
    from densegym.envs.search.retrievers import top_k

    scores = np.array([0.0, 2.0, 1.0, 2.0, 1.0, 1.0, 0.0, 3.0], dtype=np.float32)
    for k, expected in [(1, [7]), (3, [7, 1, 3]), (4, [7, 1, 3, 2]), (5, [7, 1, 3, 2, 4]), (100, [7, 1, 3, 2, 4, 5])]:
        docs, values = top_k(scores, k)
        assert docs.tolist() == expected and values.tolist() == scores[expected].tolist()
    assert top_k(np.zeros(5), 3)[0].size == 0 and top_k(scores, 0)[0].size == 0


def test_top_k_equals_a_full_sort_on_sparse_scores_with_ties():
    from densegym.envs.search.retrievers import top_k

    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(1, 400))
        scores = rng.integers(0, 6, size=n).astype(np.float32) * (rng.random(n) < rng.random())  # many 0s, ties
        k = int(rng.integers(1, n + 5))
        expected = sorted((-float(s), d) for d, s in enumerate(scores) if s > 0)[:k]
        docs, values = top_k(scores, k)
        assert docs.tolist() == [d for _, d in expected] and values.tolist() == [-s for s, _ in expected]


def test_bm25_hits_equal_bm25s_own_retrieval(corpus, tmp_path):
    r = BM25Retriever(corpus, cache_dir=tmp_path / "idx")
    own = bm25s.BM25.load(str(r.path), load_vocab=True)  # bm25s's own vocabulary, a dict, not ours
    for query in ("Vesk river", "potter Dorn", "glassmaking company 1901"):
        docs, scores = own.retrieve([tokenize(query)], k=3, show_progress=False)
        reference = sorted((-float(s), corpus.doc_id(int(d))) for d, s in zip(docs[0], scores[0]) if s > 0)
        hits = r.search([query], 3)[0]
        assert [h.doc_id for h in hits] == [d for _, d in reference] and len(hits) >= 1
        assert [h.score for h in hits] == pytest.approx([-s for s, _ in reference])


def test_mapped_vocab_answers_as_the_dict_it_was_written_from(tmp_path):
    vocab = {"vesk": 3, "café": 0, "naïve": 7, "ünïcödé": 2, "a": 5, "ab": 1, "b": 4, "\udc80": 6}
    write_vocab(vocab, tmp_path / "v")
    mapped = MappedVocab(tmp_path / "v")
    assert len(mapped) == len(vocab)
    for term, i in vocab.items():
        assert mapped.get(term) == i and term in mapped
    for missing in ("", "ve", "veskk", "zzz", "cafe", "\x00", "\udc81"):
        assert mapped.get(missing) is None and missing not in mapped
    assert mapped.get("zzz", -1) == -1 and 3 not in mapped
    mapped.close()
    write_vocab({}, tmp_path / "empty")
    assert MappedVocab(tmp_path / "empty").get("vesk") is None


def test_the_vocabulary_is_memory_mapped_and_equals_bm25s_own(corpus, tmp_path):
    r = BM25Retriever(corpus, cache_dir=tmp_path / "idx")
    assert isinstance(r.vocab, MappedVocab)
    assert isinstance(r.vocab._terms.offsets, np.memmap)
    own = json.loads((r.path / "vocab.index.json").read_text(encoding="utf-8"))
    assert len(own) == len(r.vocab) > 10
    assert all(r.vocab.get(term) == i for term, i in own.items())
    in_memory = BM25Retriever(corpus, cache_dir=tmp_path / "idx", mmap=False)
    assert isinstance(in_memory.vocab, dict) and in_memory.vocab == own


def test_an_index_cached_without_its_mapped_vocabulary_gains_it_once(corpus, tmp_path):
    first = BM25Retriever(corpus, cache_dir=tmp_path / "idx")
    expected = first.search(["potter from Vesk", "Mara river mayor"], 3)
    first.close()
    shutil.rmtree(first.path / "vocab")  # as an index written by an earlier densegym left it
    again = BM25Retriever(corpus, cache_dir=tmp_path / "idx")
    assert not again.built and isinstance(again.vocab, MappedVocab) and (again.path / "vocab").is_dir()
    assert again.search(["potter from Vesk", "Mara river mayor"], 3) == expected


def test_an_old_index_in_a_cache_this_user_cannot_write_reads_its_vocabulary_into_a_dict(corpus, tmp_path, monkeypatch):
    from densegym.envs.search import retrievers

    first = BM25Retriever(corpus, cache_dir=tmp_path / "idx")
    expected = first.search(["potter from Vesk"], 3)
    first.close()
    shutil.rmtree(first.path / "vocab")
    real = retrievers.build_atomically

    def read_only(target, build):  # what mkdtemp in a read-only directory raises; the index itself is there
        if target.name == "vocab":
            raise PermissionError(13, "Permission denied", str(target.parent))
        return real(target, build)

    monkeypatch.setattr(retrievers, "build_atomically", read_only)
    again = BM25Retriever(corpus, cache_dir=tmp_path / "idx")
    assert isinstance(again.vocab, dict) and not (again.path / "vocab").exists()
    assert again.search(["potter from Vesk"], 3) == expected
