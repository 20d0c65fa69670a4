"""A BM25 index's vocabulary (term -> token id) in memory-mapped files: one copy for every worker on a machine.

bm25s reads its vocabulary from JSON into a dict in every process that loads the index: tens of MB per worker
at a million documents, and the time to parse it at each worker's start. :class:`MappedVocab` keeps the same
map on disk, in the corpus's string layout, and looks terms up by binary search over the page cache.

Layout of a vocabulary directory (written once by :func:`write_vocab`)::

    terms.bin  terms.off    the terms, UTF-8, sorted by their bytes; int64 offsets (N + 1), numpy .npy
    ids.npy                 int64, each term's token id
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from densegym.envs.search.corpus import StringTable


def _key(term: str) -> bytes:
    return term.encode("utf-8", errors="surrogatepass")  # any str has bytes; none collide


def write_vocab(vocab: Mapping[str, int], path: str | Path) -> None:
    """Write ``vocab`` as a vocabulary directory at ``path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    entries = sorted((_key(term), int(i)) for term, i in vocab.items())
    StringTable.write(path / "terms.bin", path / "terms.off", (term for term, _ in entries))
    np.save(path / "ids.npy", np.fromiter((i for _, i in entries), dtype=np.int64, count=len(entries)))


class MappedVocab:
    """The ``get`` and ``in`` of a ``dict[str, int]``, read from a :func:`write_vocab` directory."""

    def __init__(self, path: str | Path):
        path = Path(path)
        self._terms = StringTable(path / "terms.bin", path / "terms.off")
        self._ids = memoryview(np.load(path / "ids.npy", mmap_mode="r"))

    def __len__(self) -> int:
        return len(self._terms)

    def get(self, term: str, default: int | None = None) -> int | None:
        found = self._terms.find(_key(term))
        return default if found is None else self._ids[found]

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._terms.find(_key(term)) is not None

    def close(self) -> None:
        self._terms.close()
