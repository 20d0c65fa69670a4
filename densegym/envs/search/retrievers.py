"""Retrievers: one protocol, several implementations.

A :class:`Retriever` answers a batch of queries with the top ``k`` documents of each::

    hits = retriever.search(["who founded X", "capital of Y"], k=3)   # -> [[Hit, ...], [Hit, ...]]

Implementations: :class:`BM25Retriever` (bm25s, the default), :class:`DenseRetriever` (sentence-transformers and
FAISS, ``dense.py``), :class:`HybridRetriever` (reciprocal-rank fusion of any retrievers, ``dense.py``) and
:class:`~densegym.envs.search.remote.HTTPRetriever` (a Search-R1 retrieval server). A retriever that cannot
answer (a server that is down or slow) raises :class:`RetrieverError`; the env turns it into a clear
observation and ends the episode as failed.

Local indexes are built once and cached on disk under a key made of the corpus fingerprint and every setting
that changes the index (``index_dir``); later loads memory-map the arrays and the vocabulary. :func:`shared_bm25` gives each worker
process one loaded index per key (``densegym.resources.shared``), whatever the number of envs it runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from densegym import resources
from densegym.envs.search.corpus import Corpus, cache_root
from densegym.envs.search.text import tokenize
from densegym.envs.search.vocab import MappedVocab, write_vocab

TOKENIZER_VERSION = 1


class Hit(NamedTuple):
    """One retrieved document."""

    doc_id: str
    title: str
    text: str
    score: float


class RetrieverError(RuntimeError):
    """A retriever could not answer (a server down, slow or answering nonsense)."""


@runtime_checkable
class Retriever(Protocol):
    """``search(queries, k) -> one list of at most k hits per query``, best first. Batched."""

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]: ...


def settings_key(kind: str, corpus: Corpus, settings: dict[str, Any]) -> str:
    """``<kind>-<corpus fingerprint>-<hash of the settings>``: the name of an index's cache directory."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return f"{kind}-{corpus.fingerprint[:16]}-{hashlib.sha256(blob).hexdigest()[:12]}"


def index_dir(kind: str, corpus: Corpus, settings: dict[str, Any], cache_dir: str | Path | None = None) -> Path:
    root = Path(cache_dir) if cache_dir is not None else cache_root() / "index"
    return root / settings_key(kind, corpus, settings)


def build_atomically(target: Path, build) -> Path:
    """Run ``build(tmp_dir)`` and rename the result to ``target``; a concurrent builder's copy wins if first."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        build(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a cache is for every user of the machine
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _import_bm25s():
    try:
        import bm25s
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("the BM25 retriever needs bm25s: pip install 'densegym[search]'") from exc
    return bm25s


class BM25Retriever:
    """BM25 over a :class:`Corpus` with ``bm25s`` (Lucene's BM25 by default), cached on disk and memory-mapped.

    Args:
        corpus: the documents (their title and text are indexed together).
        k1, b, method: BM25's parameters and bm25s's variant (``"lucene"``, ``"robertson"``, ``"atire"``,
            ``"bm25l"``, ``"bm25+"``).
        cache_dir: where indexes live (default ``$DENSEGYM_CACHE/search/index``); the directory name holds the
            corpus fingerprint and a hash of the settings, so a changed corpus or setting builds a new index.
        mmap: memory-map the index arrays and the vocabulary (default) instead of reading them into memory.
    """

    kind = "bm25"

    def __init__(self, corpus: Corpus, *, k1: float = 1.5, b: float = 0.75, method: str = "lucene",
                 cache_dir: str | Path | None = None, mmap: bool = True):  # fmt: skip
        bm25s = _import_bm25s()
        self.corpus = corpus
        self.settings = {"k1": float(k1), "b": float(b), "method": method, "tokenizer": TOKENIZER_VERSION}
        self.path = index_dir(self.kind, corpus, self.settings, cache_dir)
        self.built = not self.path.is_dir()
        build_atomically(self.path, self._build)
        self.model = bm25s.BM25.load(str(self.path), mmap=mmap, load_vocab=not mmap)
        self.vocab = self._mapped_vocab() if mmap else self.model.vocab_dict

    def _mapped_vocab(self) -> MappedVocab | dict[str, int]:
        saved = self.path / "vocab.index.json"  # bm25s's own copy

        def write(tmp: Path) -> None:  # an index cached before its vocabulary was memory-mapped: once
            write_vocab(json.loads(saved.read_text(encoding="utf-8")), tmp)

        try:
            return MappedVocab(build_atomically(self.path / "vocab", write))
        except PermissionError:  # such an index in a cache this user cannot write to: a dict, as before
            return json.loads(saved.read_text(encoding="utf-8"))

    def _build(self, tmp: Path) -> None:
        bm25s = _import_bm25s()
        model = bm25s.BM25(k1=self.settings["k1"], b=self.settings["b"], method=self.settings["method"])
        vocab: dict[str, int] = {}
        intern = vocab.setdefault  # every occurrence of a term shares the vocabulary's int: ~8 bytes a token
        ids = [[intern(t, len(vocab)) for t in tokenize(text)] for text in self.corpus.search_texts()]
        model.index((ids, vocab), show_progress=False)
        del ids
        model.save(str(tmp), show_progress=False)
        write_vocab(model.vocab_dict, tmp / "vocab")
        (tmp / "densegym.json").write_text(json.dumps({"corpus": self.corpus.fingerprint, **self.settings}))

    def _ids(self, query: str) -> list[int]:
        ids = map(self.vocab.get, tokenize(query))
        return [i for i in ids if i is not None]

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        k = max(1, min(int(k), len(self.corpus)))
        out: list[list[Hit]] = [[] for _ in queries]
        token_ids = [self._ids(q) for q in queries]
        todo = [i for i, ids in enumerate(token_ids) if ids]
        if not todo:
            return out
        corpus = self.corpus
        for i in todo:
            # bm25s's scores, then our own top k: its retrieve() spends most of its time selecting the top k
            docs, values = top_k(self.model.get_scores(token_ids[i]), k)
            out[i] = [Hit(corpus.doc_id(int(d)), corpus.title(int(d)), corpus.text(int(d)), float(s))
                      for d, s in zip(docs, values)]  # fmt: skip
        return out

    def close(self) -> None:
        if isinstance(self.vocab, MappedVocab):
            self.vocab.close()
        self.model = None


def shared_corpus(path: str | Path) -> Corpus:
    """This process's open :class:`Corpus` at ``path`` (opened once per worker)."""
    path = Path(path).resolve()
    return resources.shared(("search.corpus", str(path)), lambda: Corpus(path))


def shared_bm25(corpus: Corpus, cache_dir: str | Path | None = None, **settings: Any) -> BM25Retriever:
    """This process's :class:`BM25Retriever` for ``corpus`` and ``settings`` (loaded once per worker)."""
    key = ("search.bm25", str(corpus.path), corpus.fingerprint, str(cache_dir), tuple(sorted(settings.items())))
    return resources.shared(key, lambda: BM25Retriever(corpus, cache_dir=cache_dir, **settings))


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The (at most) ``k`` positive entries of ``scores`` with the largest values, best first; equal scores in
    document order, so that ties (frequent with BM25 over short documents) always resolve the same way."""
    k = min(int(k), scores.size)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=scores.dtype)
    chosen = np.flatnonzero(scores > 0)  # a query's terms occur in few documents: select among those only
    if chosen.size > k:
        values = scores[chosen]
        kth = np.partition(values, chosen.size - k)[chosen.size - k]
        above = chosen[values > kth]
        chosen = np.concatenate([above, chosen[values == kth][: k - above.size]])
    order = np.lexsort((chosen, -scores[chosen]))
    chosen = chosen[order]
    return chosen, scores[chosen]
