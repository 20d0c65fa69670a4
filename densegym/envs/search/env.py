"""``densegym/SearchQA-v0``: multi-hop question answering over a real search index, rewarded every turn."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from densegym import resources
from densegym.envs.base import ActionError, StepOutcome, TextEnv, extract_tag, squash
from densegym.envs.search.corpus import Corpus, cache_root, open_or_write
from densegym.envs.search.retrievers import (Hit, Retriever, RetrieverError, build_atomically, shared_bm25,
                                             shared_corpus)
from densegym.envs.search.rewards import SearchView, default_reward_set
from densegym.envs.search.text import clean_query, exact_match, f1, has_searchable_word, query_terms
from densegym.envs.search.world import DEFAULT_DOCS, GENERATOR_VERSION, Question, World
from densegym.rewards import RewardSet

ACTION_TAGS = ("search", "read", "answer")
NEAR_DUPLICATE = 0.8  # Jaccard similarity of two queries' term sets at or above which a search is redundant

PROMPT = """Answer the question below using a search engine over a document collection.
Think inside <think> and </think> whenever you get new information. Then write exactly one action:
  <search>query</search>   search the collection; the best-matching passages come back between <information> and </information>, each with its document id and title
  <read>document id</read>   show the whole document with that id
  <answer>answer</answer>   give the final answer, a short phrase without explanation, and end the episode
For example: <answer> Beijing </answer>
The documents describe a world you have never read about: search for every fact you need.

Question: {question}"""


class _State(NamedTuple):
    """The whole episode state (immutable: a snapshot is the value itself)."""

    surfaced: frozenset[str]  # every document id any search has shown
    gold_surfaced: frozenset[str]
    queries: tuple[frozenset[str], ...]  # the term sets of the searches so far
    oracle_issued: tuple[str, ...]
    read: tuple[str, ...]
    searches: int
    answered: bool


_EMPTY = _State(frozenset(), frozenset(), (), (), (), 0, False)


def world_corpus_path(num_docs: int, seed: int, cache_dir: str | Path | None = None) -> Path:
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    return root / f"world-v{GENERATOR_VERSION}-n{num_docs}-s{seed}"


def shared_world(num_docs: int, seed: int, cache_dir: str | Path | None = None) -> World:
    """This process's :class:`World` ``(num_docs, seed)``: generated once and saved beside its corpus in the
    cache, then loaded with its tables memory-mapped (once per worker)."""

    def make() -> World:
        tables = Path(str(world_corpus_path(num_docs, seed, cache_dir)) + ".tables")
        if (tables / "world.json").is_file():
            try:
                return World.load(tables)
            except (OSError, ValueError, KeyError):  # unreadable: generate it again (the same world)
                pass
        world = World(num_docs, seed)
        build_atomically(tables, world.save)
        return world

    return resources.shared(("search.world", GENERATOR_VERSION, int(num_docs), int(seed)), make)


def world_corpus(num_docs: int, seed: int, cache_dir: str | Path | None = None) -> Corpus:
    """The corpus of a generated world: written to the cache once, then memory-mapped (once per worker)."""
    path = world_corpus_path(num_docs, seed, cache_dir)
    if not (path / "meta.json").is_file():
        world = shared_world(num_docs, seed, cache_dir)
        open_or_write(path, world.documents, source=f"world:{num_docs}:{seed}").close()
    return shared_corpus(path)


class SearchQAEnv(TextEnv):
    """Answer a question by searching a real index: Search-R1's actions, a verifiable reward every turn.

    ## Description

    Each task is a question, its gold answer with aliases, and the ids of the gold supporting documents. By
    default the questions come from a seeded fictional world (``world.py``): ``num_docs`` articles about made-up
    people, organisations, cities, countries and events, and questions of 1 to 4 hops (single facts, bridges,
    comparisons, intersections, aggregations) that no model can answer from its prior. Distractor documents
    share names and attributes with the gold ones. ``tasks=`` and ``corpus=`` take a user's data instead
    (``loaders.py``: FlashRAG JSONL, BEIR).

    ## Actions

    Text, as in Search-R1, SkyRL and verl-agent prompts. Free text and ``<think>...</think>`` may surround one
    action tag; tags inside ``<think>`` are ignored. ``<search>query</search>`` returns the top ``top_k``
    passages inside ``<information>...</information>`` (document id, title, text cut at ``passage_chars``);
    ``<read>doc_id</read>`` shows a whole document; ``<answer>...</answer>`` ends the episode. Two different
    action tags in one turn, an unclosed tag, an empty or over-long (``max_query_chars``) query, a query with no
    letter or digit, and an unknown document id are invalid: the state does not change and the observation
    says what was wrong. Control characters in a query become spaces; any script is accepted.

    ## Observations

    Text. ``reset`` returns the instructions and the question (never the answer, its aliases or the gold
    document ids). A search returns the passages; a read returns the document.

    ## Rewards

    | component | meaning | range | default weight |
    |---|---|---|---|
    | ``retrieval`` | potential-based: the share of gold documents surfaced in some search's top ``k`` so far | ``[0, 1]`` per step, sums to at most 1 | 0.5 |
    | ``redundancy`` | -1 for a repeated or near-identical search (term-set Jaccard >= 0.8), or a document read twice | ``{-1, 0}`` | 0.1 |
    | ``format`` | 0 accepted action, -1 otherwise | ``{-1, 0}`` | 0.1 |
    | ``outcome`` | token F1 of the answer against the best gold alias after Search-R1's normalisation (lower case, no punctuation or articles); ``info["em"]`` and ``info["f1"]`` beside it | ``[0, 1]`` | 1.0 |

    Information gain (IGPO) applies as a trajectory transform: ``info["privileged"]`` carries ``answer``,
    ``aliases`` and ``gold_docs``, which the trainer reads and the agent never sees.

    ## Starting state

    A question: ``options={"task": i}`` (an index), its id (``"q<i>"``, or ``"q<i>:<kind>+<kind>"`` for a question
    drawn with ``question_kinds``; ids are relative to the env's world), or a :class:`Question`; otherwise the
    seed picks one of ``num_questions``.

    ## Episode end

    Terminated by ``<answer>`` (``success`` when the answer matches an alias exactly after normalisation; a
    task without an answer, as BEIR's, is scored by the share of its gold documents surfaced), or
    when the retriever fails (a server down or slow: the observation says so, ``info["failed"]`` holds the
    reason, and ``outcome`` is 0). Truncated after ``max_turns``.

    ## Arguments

    * ``num_docs`` (50,000), ``world_seed`` (0), ``num_questions`` (10,000), ``question_kinds``: the generated
      world and its questions.
    * ``corpus``: a corpus directory, a FlashRAG / BEIR corpus JSONL file (converted once) or a :class:`Corpus`
      (replaces the world's); ``tasks``: a FlashRAG JSONL dataset file (gold documents matched by the titles
      of HotpotQA-style supporting facts when a corpus is given), a BEIR directory (its corpus too, unless
      ``corpus`` is given) or a list of :class:`Question` (replaces the generated ones).
    * ``retriever``: ``"bm25"`` (default, bm25s), ``"dense"``, ``"hybrid"``, an ``http://`` URL of a Search-R1
      retrieval server, or any :class:`Retriever`. ``retriever_kwargs`` go to its constructor.
    * ``top_k`` (3), ``passage_chars`` (600), ``max_query_chars`` (1,000), ``max_turns`` (10), ``cache_dir``,
      ``rewards``.

    ## Version history

    * v0: initial release.
    """

    supports_snapshot = True
    has_oracle = True
    default_max_turns = 10
    action_tag = "search"

    def __init__(
        self,
        num_docs: int = DEFAULT_DOCS,
        world_seed: int = 0,
        *,
        num_questions: int = 10_000,
        question_kinds: Sequence[str] | None = None,
        corpus: str | Path | Corpus | None = None,
        tasks: str | Path | Sequence[Question] | None = None,
        retriever: str | Retriever = "bm25",
        retriever_kwargs: dict[str, Any] | None = None,
        top_k: int = 3,
        passage_chars: int = 600,
        max_query_chars: int = 1_000,
        cache_dir: str | Path | None = None,
        max_turns: int | None = None,
        rewards: dict[str, Any] | None = None,
        render_mode: str | None = None,
    ):
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        self.num_docs, self.world_seed = int(num_docs), int(world_seed)
        self.num_questions = int(num_questions)
        self.question_kinds = tuple(question_kinds) if question_kinds else None
        self.top_k, self.passage_chars, self.max_query_chars = int(top_k), int(passage_chars), int(max_query_chars)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        if isinstance(corpus, (str, Path)) and Path(corpus).is_file():  # a FlashRAG / BEIR corpus JSONL file
            from densegym.envs.search.loaders import load_corpus

            corpus = load_corpus(corpus, self.cache_dir)
        if isinstance(tasks, (str, Path)):
            from densegym.envs.search.loaders import load_beir, load_flashrag

            if Path(tasks).is_dir():  # a BEIR directory: its corpus too, unless one is given
                beir_corpus, tasks = load_beir(tasks, cache_dir=self.cache_dir)
                corpus = corpus if corpus is not None else beir_corpus
            else:
                if corpus is not None and not isinstance(corpus, Corpus):
                    corpus = shared_corpus(corpus)
                tasks = load_flashrag(tasks, corpus, match_titles=corpus is not None)
        self.tasks = list(tasks) if tasks is not None else None
        if self.tasks is not None and not self.tasks:
            raise ValueError("the task list is empty")
        self.world: World | None = None
        if self.tasks is None:
            if self.num_questions < 1:
                raise ValueError(f"num_questions must be at least 1, got {num_questions}")
            self.world = shared_world(self.num_docs, self.world_seed, self.cache_dir)
        if isinstance(corpus, Corpus):
            self.corpus: Corpus | None = corpus
        elif corpus is not None:
            self.corpus = shared_corpus(corpus)
        elif self.world is not None:
            self.corpus = world_corpus(self.num_docs, self.world_seed, self.cache_dir)
        else:
            self.corpus = None
        self._owned: Any = None
        self.retriever = self._make_retriever(retriever, retriever_kwargs or {})
        super().__init__(max_turns=max_turns, rewards=rewards, render_mode=render_mode)
        self._state = _EMPTY

    def _make_retriever(self, spec: str | Retriever, kwargs: dict[str, Any]) -> Retriever:
        if not isinstance(spec, str):
            if not isinstance(spec, Retriever):
                raise TypeError(f"retriever must be a name, a URL or a Retriever, got {type(spec).__name__}")
            return spec
        if spec.startswith(("http://", "https://")):
            from densegym.envs.search.remote import HTTPRetriever

            self._owned = HTTPRetriever(spec, **kwargs)  # this env's own client: closed with the env
            return self._owned
        if self.corpus is None:
            raise ValueError(f"retriever {spec!r} needs a corpus: pass corpus= (or use an HTTP retriever)")
        index_cache = self.cache_dir / "index" if self.cache_dir is not None else None
        if spec == "bm25":
            return shared_bm25(self.corpus, cache_dir=index_cache, **kwargs)
        if spec in ("dense", "hybrid"):
            from densegym.envs.search import dense

            make = dense.shared_dense if spec == "dense" else dense.shared_hybrid
            return make(self.corpus, cache_dir=index_cache, **kwargs)
        raise ValueError(f"unknown retriever {spec!r}; use 'bm25', 'dense', 'hybrid', an http:// URL or a Retriever")

    # ---- tasks ------------------------------------------------------------------------------------------

    def default_rewards(self) -> RewardSet:
        return default_reward_set()

    def sample_task(self, rng: np.random.Generator) -> Question:
        count = len(self.tasks) if self.tasks is not None else self.num_questions
        return self.resolve_task(int(rng.integers(count)))

    def resolve_task(self, spec: Any) -> Question:
        if isinstance(spec, Question):
            return spec
        if isinstance(spec, str) and self.tasks is None:
            parsed = World.parse_id(spec)
            if parsed is not None:
                assert self.world is not None
                return self.world.question(*parsed)
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            i = int(spec)
            if self.tasks is not None and 0 <= i < len(self.tasks):
                return self.tasks[i]
            if self.tasks is None and i >= 0:
                assert self.world is not None
                return self.world.question(i, self.question_kinds)
        if isinstance(spec, str) and self.tasks is not None:
            for task in self.tasks:
                if task.id == spec:
                    return task
        raise ValueError(f"unknown search task {spec!r}: pass a Question, an index, or the id of one of the env's tasks")

    def task_id(self, task: Question) -> str:
        return task.id

    def start(self, task: Question) -> str:
        self._state = _EMPTY
        return PROMPT.format(question=task.question)

    # ---- actions ----------------------------------------------------------------------------------------

    def action_help(self) -> str:
        return ("Write exactly one of <search>query</search>, <read>document id</read> or <answer>short answer</answer> "
                "(free text and <think>...</think> around it are fine).")  # fmt: skip

    def parse_action(self, text: str) -> tuple[str, str]:
        visible = _strip_think(text)
        found = {tag: extract_tag(visible, tag) for tag in ACTION_TAGS}
        present = [tag for tag, value in found.items() if value is not None]
        if len(present) > 1:
            tags = " and ".join(f"<{t}>" for t in present)
            raise ActionError(f"the turn has {tags} blocks; write one action per turn")
        if not present:
            lower = visible.lower()
            for tag in ACTION_TAGS:
                if f"<{tag}>" in lower:
                    raise ActionError(f"the <{tag}> block is not closed with </{tag}>")
            raise ActionError("no <search>, <read> or <answer> block found")
        tag = present[0]
        value = found[tag]
        assert value is not None
        if tag == "search":
            query = clean_query(value)
            if not query:
                raise ActionError("the search query is empty")
            if len(query) > self.max_query_chars:
                raise ActionError(f"the search query is {len(query):,} characters long; at most {self.max_query_chars:,} are accepted")
            if not has_searchable_word(query):
                raise ActionError(f"the search query {squash(query)!r} has no letter or digit")
            return tag, query
        if tag == "read":
            doc_id = clean_query(value)
            if not doc_id:
                raise ActionError("the <read> block is empty; write the id of a document from a search result")
            if self.corpus is None:
                raise ActionError("reading whole documents is not available with this retriever; use <search>")
            if len(doc_id) > 200 or self.corpus.index_of(doc_id) is None:
                raise ActionError(f"no document has the id {squash(doc_id)!r}; use an id shown in a search result")
            return tag, doc_id
        answer = " ".join(value.split())
        if not answer:
            raise ActionError("the answer is empty")
        return tag, answer

    def apply_action(self, parsed: tuple[str, str]) -> StepOutcome:
        tag, value = parsed
        state = self._state
        if tag == "search":
            return self._search(state, value)
        if tag == "read":
            assert self.corpus is not None
            doc = self.corpus.get(value)
            assert doc is not None
            repeated = value in state.read
            self._state = state._replace(read=state.read + (value,))
            obs = f"<information>\nDocument {doc.id} (Title: {doc.title})\n{doc.text}\n</information>"
            return StepOutcome(obs, info={"repeated": repeated})
        task = self.task
        self._state = state._replace(answered=True)
        if not task.aliases and not task.answer:  # a retrieval-only task (BEIR): scored by the gold share found
            found = len(state.gold_surfaced) / len(task.gold_docs) if task.gold_docs else 0.0
            return StepOutcome("Your answer was recorded.", terminated=True, success=found == 1.0, outcome=found,
                               info={"f1": 0.0, "em": 0.0, "recall": found})  # fmt: skip
        aliases = task.aliases or (task.answer,)
        score_f1, score_em = f1(value, aliases), exact_match(value, aliases)
        return StepOutcome("Your answer was recorded.", terminated=True, success=bool(score_em), outcome=score_f1,
                           info={"f1": score_f1, "em": score_em})  # fmt: skip

    def _search(self, state: _State, query: str) -> StepOutcome:
        try:
            results = self.retriever.search([query], self.top_k)
            if len(results) != 1:
                raise RetrieverError(f"the retriever answered {len(results)} result lists for 1 query")
            hits = list(results[0])[: self.top_k]
        except RetrieverError as exc:
            reason = f"retriever: {exc}"
            obs = (f"<information>\nSearch failed: {exc}\n</information>\nThe search service is unavailable, so the "
                   "episode ends here; it is marked failed and does not count against you.")  # fmt: skip
            return StepOutcome(obs, terminated=True, success=False, outcome=0.0, info={"failed": reason})
        terms = query_terms(query)
        repeated = any(_similar(terms, prev) for prev in state.queries)
        ids = [h.doc_id for h in hits]
        gold = set(self.task.gold_docs)
        oracle = state.oracle_issued
        if query in self.task.oracle_queries and query not in oracle:
            oracle = oracle + (query,)
        self._state = state._replace(
            surfaced=state.surfaced | frozenset(ids),
            gold_surfaced=state.gold_surfaced | (gold & set(ids)),
            queries=state.queries + (terms,),
            oracle_issued=oracle,
            searches=state.searches + 1,
        )
        return StepOutcome(self._format_hits(hits), info={"repeated": repeated, "hits": ids})

    def _format_hits(self, hits: Sequence[Hit]) -> str:
        if not hits:
            return "<information>\nNo document matched the query.\n</information>"
        lines = []
        for n, hit in enumerate(hits, 1):
            text = " ".join(hit.text.split())
            if len(text) > self.passage_chars:
                text = text[: self.passage_chars].rsplit(" ", 1)[0] + f" ... [cut: <read>{hit.doc_id}</read> shows it all]"
            lines.append(f"Doc {n} (id: {hit.doc_id}, Title: {hit.title}) {text}")
        return "<information>\n" + "\n".join(lines) + "\n</information>"

    # ---- state, anchor, privileged ----------------------------------------------------------------------

    def state_view(self) -> SearchView:
        s = self._state
        total = len(self.task.gold_docs) if self.task is not None else 0
        return SearchView(len(s.gold_surfaced), total, s.searches, len(s.read), s.answered)

    def anchor(self) -> str:
        s = self._state
        seen = hashlib.sha1("\n".join(sorted(s.surfaced)).encode()).hexdigest()[:12] if s.surfaced else "-"
        reads = ",".join(sorted(set(s.read))) or "-"
        tid = self.task.id if self.task is not None else "-"
        return f"{tid}|gold:{len(s.gold_surfaced)}|seen:{seen}|read:{reads}|done:{int(s.answered)}"

    def privileged(self) -> dict[str, Any] | None:
        task = self.task
        if task is None:
            return None
        return {
            "answer": task.answer,
            "aliases": list(task.aliases or (task.answer,)),
            "gold_docs": list(task.gold_docs),
            "gold_surfaced": sorted(self._state.gold_surfaced),
            "kind": task.kind,
        }

    def render_text(self) -> str:
        return f"Question: {self.task.question}\n{self.anchor()}" if self.task is not None else ""

    def save_state(self) -> _State:
        return self._state

    def load_state(self, state: _State) -> None:
        self._state = state

    def oracle_action(self) -> str:
        """Search, in turn, the query of each gold document not surfaced yet; then answer the gold answer."""
        task, s = self.task, self._state
        gold_left = [d for d in task.gold_docs if d not in s.gold_surfaced]
        if gold_left:
            for doc, query in zip(task.gold_docs, task.oracle_queries):
                if doc in gold_left and query not in s.oracle_issued:
                    return f"<search>{query}</search>"
        return f"<answer>{task.answer or 'done'}</answer>"

    def random_action(self, rng: np.random.Generator) -> str:
        words = self.task.question.rstrip("?").split() if self.task is not None else ["nothing"]
        if rng.random() < 0.2:
            return f"<answer>{words[int(rng.integers(len(words)))]}</answer>"
        picked = rng.choice(words, size=min(len(words), 3), replace=False)
        return f"<think>searching</think><search>{' '.join(picked)}</search>"

    def describe_index(self) -> dict[str, Any]:
        """Which process this env runs in and which retriever and corpus objects it uses (one per worker when
        shared): ``{"pid", "retriever", "retriever_id", "corpus_id", "index_path"}``."""
        return {"pid": os.getpid(), "retriever": repr(self.retriever), "retriever_id": id(self.retriever),
                "corpus_id": id(self.corpus), "index_path": str(getattr(self.retriever, "path", ""))}  # fmt: skip

    def close(self) -> None:
        """Close the HTTP client this env made from a URL; the corpus and local indexes are the worker's
        (``densegym.resources``) and a retriever passed in is its owner's."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    if a == b:
        return True
    union = len(a | b)
    return union > 0 and len(a & b) / union >= NEAR_DUPLICATE


def _strip_think(text: str) -> str:
    """``text`` without its ``<think>...</think>`` blocks (case-insensitive; linear in the text's length)."""
    opens = [m.start() for m in _THINK_OPEN.finditer(text)]
    if not opens:
        return text
    closes = [m for m in _THINK_CLOSE.finditer(text)]
    out, pos, c = [], 0, 0
    for start in opens:
        if start < pos:
            continue
        while c < len(closes) and closes[c].start() < start:
            c += 1
        if c == len(closes):
            break
        out.append(text[pos:start])
        pos = closes[c].end()
    out.append(text[pos:])
    return " ".join(out)


_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
