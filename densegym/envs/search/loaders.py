"""Loaders for the data users already have: FlashRAG-style JSONL datasets and corpora, and BEIR directories.

* **FlashRAG** (the format of Search-R1's NQ, HotpotQA, 2Wiki, MuSiQue and Bamboogle files): a dataset is JSONL
  with ``id``, ``question`` and ``golden_answers`` (a list of aliases) per line; a corpus is JSONL with ``id``
  and ``contents`` (``"Title"\\ntext``, as wiki-18) or ``id``, ``title`` and ``text``. Gold documents are taken
  from a line's ``gold_docs`` / ``metadata.gold_doc_ids`` when present, or matched by title from HotpotQA-style
  ``metadata.supporting_facts`` when ``match_titles=True``.
* **BEIR**: a directory with ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
  ``text``) and ``qrels/<split>.tsv`` (``query-id  corpus-id  score``, a header line). BEIR has relevance
  judgements but no answers: its tasks have ``answer == ""`` and the env scores them by retrieval (see
  ``SearchQAEnv``).

A corpus file becomes a memory-mapped :class:`Corpus` in the cache, once (keyed by the file's path, size and
modification time; the corpus's own fingerprint is over its contents).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from densegym.envs.search.corpus import Corpus, Document, cache_root, open_or_write
from densegym.envs.search.world import Question


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(value, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object, got {type(value).__name__}")
            yield number, value


def _corpus_docs(path: Path) -> Iterator[Document]:
    for number, row in _jsonl(path):
        doc_id = row.get("id", row.get("_id"))
        if doc_id is None:
            raise ValueError(f"{path}:{number}: a corpus line needs an 'id' (or '_id')")
        if "contents" in row:
            yield Document.from_contents(str(doc_id), str(row["contents"]))
        elif "text" in row:
            yield Document(str(doc_id), str(row.get("title") or ""), str(row["text"]))
        else:
            raise ValueError(f"{path}:{number}: a corpus line needs 'contents' or 'text'")


def _file_key(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def load_corpus(path: str | Path, cache_dir: str | Path | None = None) -> Corpus:
    """A FlashRAG / BEIR corpus JSONL file as a memory-mapped :class:`Corpus` (converted once, then cached)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no corpus file at {path}")
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    target = root / "corpora" / f"{path.stem}-{_file_key(path)}"
    return open_or_write(target, lambda: _corpus_docs(path), source=str(path))


def _titles(corpus: Corpus) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(len(corpus)):
        out.setdefault(corpus.title(i), corpus.doc_id(i))
    return out


def load_flashrag(dataset: str | Path, corpus: Corpus | None = None, *, limit: int | None = None,
                  match_titles: bool = False, name: str | None = None) -> list[Question]:  # fmt: skip
    """The questions of a FlashRAG JSONL dataset file, as :class:`Question` tasks (``kind`` = the dataset name).

    ``corpus`` is needed only to check gold ids and to match supporting-fact titles (``match_titles``)."""
    dataset = Path(dataset)
    name = name or dataset.parent.name or dataset.stem
    titles = _titles(corpus) if (match_titles and corpus is not None) else None
    tasks: list[Question] = []
    for number, row in _jsonl(dataset):
        question = row.get("question")
        answers = row.get("golden_answers", row.get("answers", row.get("answer")))
        if isinstance(answers, str):
            answers = [answers]
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{dataset}:{number}: the line has no 'question'")
        if not answers or not all(isinstance(a, (str, int, float)) for a in answers):
            raise ValueError(f"{dataset}:{number}: the line has no 'golden_answers' (a list of strings)")
        aliases = tuple(dict.fromkeys(str(a).strip() for a in answers if str(a).strip()))
        meta = row.get("metadata") or {}
        gold = row.get("gold_docs") or meta.get("gold_doc_ids") or []
        if not gold and titles is not None:
            facts = meta.get("supporting_facts") or {}
            names = facts.get("title", []) if isinstance(facts, dict) else [f[0] for f in facts if f]
            gold = [titles[t] for t in dict.fromkeys(names) if t in titles]
        gold = tuple(str(g) for g in gold)
        if corpus is not None:
            gold = tuple(g for g in gold if corpus.index_of(g) is not None)
        oracle = tuple(corpus.title(corpus.index_of(g)) for g in gold) if corpus is not None and gold else ()
        tasks.append(Question(id=str(row.get("id", f"{name}-{number}")), question=question.strip(),
                              answer=aliases[0], aliases=aliases, gold_docs=gold, kind=name,
                              oracle_queries=oracle))  # fmt: skip
        if limit is not None and len(tasks) >= limit:
            break
    if not tasks:
        raise ValueError(f"{dataset}: no questions")
    return tasks


def _doc_query(corpus: Corpus, doc_id: str) -> str:
    """A query that names one document: its title, or the first words of its text when it has none."""
    i = corpus.index_of(doc_id)
    assert i is not None
    return corpus.title(i).strip() or " ".join(corpus.text(i).split()[:12])


def load_beir(directory: str | Path, split: str = "test", *, cache_dir: str | Path | None = None,
              limit: int | None = None) -> tuple[Corpus, list[Question]]:  # fmt: skip
    """A BEIR dataset directory: its corpus (memory-mapped) and one retrieval task per judged query.

    A task's gold documents are its documents judged relevant (score > 0); its ``answer`` is empty."""
    directory = Path(directory)
    for needed in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (directory / needed).is_file():
            raise FileNotFoundError(f"{directory} is not a BEIR directory: {needed} is missing")
    corpus = load_corpus(directory / "corpus.jsonl", cache_dir)
    queries = {str(row.get("_id")): str(row.get("text", "")) for _, row in _jsonl(directory / "queries.jsonl")}
    relevant: dict[str, list[str]] = {}
    with open(directory / "qrels" / f"{split}.tsv", encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh, delimiter="\t")
        for n, row in enumerate(rows):
            if n == 0 and row and not row[-1].lstrip("-").isdigit():
                continue  # the header
            if len(row) < 3:
                raise ValueError(f"{directory}/qrels/{split}.tsv:{n + 1}: expected query-id, corpus-id, score")
            if int(row[2]) > 0:
                relevant.setdefault(row[0], []).append(row[1])
    tasks = []
    for qid, docs in relevant.items():
        if qid not in queries:
            continue
        gold = tuple(d for d in docs if corpus.index_of(d) is not None)
        if not gold:
            continue
        oracle = tuple(_doc_query(corpus, d) for d in gold)
        tasks.append(Question(id=qid, question=queries[qid], answer="", aliases=(), gold_docs=gold,
                              kind=directory.name, oracle_queries=oracle))  # fmt: skip
        if limit is not None and len(tasks) >= limit:
            break
    if not tasks:
        raise ValueError(f"{directory}: no query with a relevant document in the corpus")
    return corpus, tasks
