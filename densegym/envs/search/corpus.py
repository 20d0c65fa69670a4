"""A document collection on disk, memory-mapped: what every retriever and the ``<read>`` action read from.

Layout of a corpus directory (written once by :func:`write_corpus`, never changed afterwards)::

    meta.json            {"format": 1, "count": N, "sha256": <fingerprint>, "source": ...}
    ids.bin  titles.bin  texts.bin                UTF-8 strings, concatenated
    ids.off  titles.off  texts.off                int64 offsets (N + 1 each), numpy .npy
    id_order.npy                                  int64, document numbers sorted by id (binary search)

Everything is opened with ``mmap``: a worker that opens a corpus costs a few pages until it reads a
document, and every process on the machine shares the same page cache. The fingerprint (a SHA-256 over every
id, title and text) is what index caches are keyed by. Standard library and numpy only.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
_FIELDS = ("ids", "titles", "texts")


@dataclass(frozen=True, slots=True)
class Document:
    """One document: an id, a title and its text."""

    id: str
    title: str
    text: str

    def contents(self) -> str:
        """Search-R1's ``contents`` string: the quoted title, a newline, the text."""
        return f'"{self.title}"\n{self.text}'

    @staticmethod
    def from_contents(doc_id: str, contents: str) -> Document:
        """The inverse of :meth:`contents` (a Search-R1 / FlashRAG corpus line)."""
        title, _, text = contents.partition("\n")
        return Document(doc_id, title.strip().strip('"'), text.strip())


def cache_root() -> Path:
    """``$DENSEGYM_CACHE/search`` or ``~/.cache/densegym/search``."""
    root = os.environ.get("DENSEGYM_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "densegym")
    return Path(root) / "search"


class StringTable:
    """N strings in one memory-mapped UTF-8 blob with an int64 offsets array (``.npy``): a corpus's fields and a
    BM25 vocabulary's terms (``vocab.py``)."""

    def __init__(self, blob: Path, offsets: Path):
        self.offsets = np.load(offsets, mmap_mode="r")
        self._off = memoryview(self.offsets)  # indexing gives Python ints: numpy scalars cost far more a lookup
        self._file = open(blob, "rb")
        size = os.fstat(self._file.fileno()).st_size
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""

    @staticmethod
    def write(blob: Path, offsets: Path, values: Iterable[bytes]) -> None:
        ends = array("q", [0])  # 8 bytes an entry, not a Python int
        with open(blob, "wb") as f:
            for value in values:
                f.write(value)
                ends.append(ends[-1] + len(value))
        StringTable.save_offsets(offsets, ends)

    @staticmethod
    def save_offsets(path: Path, ends: array) -> None:
        with open(path, "wb") as f:  # a file object: np.save would append ".npy" to a path
            np.save(f, np.frombuffer(ends, dtype=np.int64))

    def __len__(self) -> int:
        return len(self._off) - 1

    def raw(self, i: int) -> bytes:
        return self._map[self._off[i] : self._off[i + 1]]

    def __getitem__(self, i: int) -> str:
        return self.raw(i).decode("utf-8")

    def find(self, key: bytes, order: Sequence[int] | None = None) -> int | None:
        """The number of the string equal to ``key``, or None: a binary search, so the strings must be sorted
        by their bytes, or read in ``order`` (the permutation that sorts them)."""
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.raw(mid if order is None else order[mid]) < key:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(self):
            return None
        found = lo if order is None else order[lo]
        return found if self.raw(found) == key else None

    def close(self) -> None:
        if isinstance(self._map, mmap.mmap):
            self._map.close()
        self._file.close()


class Corpus:
    """A memory-mapped corpus directory (see the module docstring). Thread-safe for reading."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        meta_path = self.path / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.path} is not a densegym corpus (no meta.json)")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        if self.meta.get("format") != FORMAT:
            raise ValueError(f"{self.path}: corpus format {self.meta.get('format')} is not {FORMAT}; rebuild it")
        self.count = int(self.meta["count"])
        self.fingerprint: str = self.meta["sha256"]
        self._strings = {f: StringTable(self.path / f"{f}.bin", self.path / f"{f}.off") for f in _FIELDS}
        self._order = memoryview(np.load(self.path / "id_order.npy", mmap_mode="r"))

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"Corpus({str(self.path)!r}, {self.count:,} documents)"

    def doc_id(self, i: int) -> str:
        return self._strings["ids"][i]

    def title(self, i: int) -> str:
        return self._strings["titles"][i]

    def text(self, i: int) -> str:
        return self._strings["texts"][i]

    def doc(self, i: int) -> Document:
        if not 0 <= i < self.count:
            raise IndexError(f"document number {i} is out of range (0..{self.count - 1})")
        return Document(self.doc_id(i), self.title(i), self.text(i))

    def index_of(self, doc_id: str) -> int | None:
        """The document number of ``doc_id`` (a binary search over the sorted ids), or None."""
        try:
            key = doc_id.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate cannot be an id
            return None
        return self._strings["ids"].find(key, self._order)

    def get(self, doc_id: str) -> Document | None:
        i = self.index_of(doc_id)
        return None if i is None else self.doc(i)

    def __iter__(self) -> Iterator[Document]:
        for i in range(self.count):
            yield self.doc(i)

    def search_texts(self) -> Iterator[str]:
        """What a retriever indexes for each document: the title, a newline, the text."""
        titles, texts = self._strings["titles"], self._strings["texts"]
        for i in range(self.count):
            yield titles[i] + "\n" + texts[i]

    def close(self) -> None:
        for s in self._strings.values():
            s.close()


def write_corpus(docs: Iterable[Document | tuple[str, str, str]], path: str | Path, source: str = "") -> Corpus:
    """Write ``docs`` (``Document`` or ``(id, title, text)``) as a corpus directory at ``path`` and open it.

    The directory appears atomically (built beside it, then renamed); when another process wrote the same
    path first, its copy is kept. Duplicate ids raise ``ValueError``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        digest = hashlib.sha256()
        files = {f: open(tmp / f"{f}.bin", "wb") for f in _FIELDS}
        offsets = {f: array("q", [0]) for f in _FIELDS}  # 8 bytes an entry, not a Python int
        ids: list[bytes] = []
        try:
            for doc in docs:
                values = (doc.id, doc.title, doc.text) if isinstance(doc, Document) else tuple(doc)
                for field, value in zip(_FIELDS, values):
                    data = str(value).encode("utf-8", errors="replace")
                    files[field].write(data)
                    offsets[field].append(offsets[field][-1] + len(data))
                    digest.update(len(data).to_bytes(8, "little"))
                    digest.update(data)
                ids.append(str(values[0]).encode("utf-8", errors="replace"))
        finally:
            for f in files.values():
                f.close()
        for field in _FIELDS:
            StringTable.save_offsets(tmp / f"{field}.off", offsets[field])
        order = sorted(range(len(ids)), key=ids.__getitem__)
        for a, b in zip(order, order[1:]):
            if ids[a] == ids[b]:
                raise ValueError(f"duplicate document id {ids[a].decode('utf-8', 'replace')!r}")
        np.save(tmp / "id_order.npy", np.asarray(order, dtype=np.int64))
        meta = {"format": FORMAT, "count": len(ids), "sha256": digest.hexdigest(), "source": source}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a cache is for every user of the machine
        try:
            os.rename(tmp, path)
        except OSError:
            if not (path / "meta.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process wrote it first: keep theirs
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Corpus(path)


def open_or_write(path: str | Path, docs_factory, source: str = "") -> Corpus:
    """The corpus at ``path``, written from ``docs_factory()`` when it is not there yet."""
    path = Path(path)
    if (path / "meta.json").is_file():
        return Corpus(path)
    return write_corpus(docs_factory(), path, source)
