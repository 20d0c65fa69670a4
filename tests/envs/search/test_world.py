"""The generated world and its questions: determinism, answers in the gold documents, distractors, hops."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from densegym.envs.search.text import normalize_answer
from densegym.envs.search.world import World


@pytest.fixture(scope="module")
def world():
    return World(3000, seed=5)


def test_same_seed_same_world_and_questions_other_seed_another():
    a, b, c = World(800, 1), World(800, 1), World(800, 2)
    assert [a.document(j) for j in range(800)] == [b.document(j) for j in range(800)]
    assert [a.question(i) for i in range(50)] == [b.question(i) for i in range(50)]
    assert [a.document(j) for j in range(20)] != [c.document(j) for j in range(20)]


def test_one_article_per_entity_and_unique_titles_and_ids(world):
    docs = list(world.documents())
    assert len(docs) == world.num_docs == sum(world.counts.values())
    assert len({d[0] for d in docs}) == len(docs)
    assert len({d[1] for d in docs}) == len(docs)  # every entity name is unique
    for kind, count in world.counts.items():
        for i in (0, count - 1):
            assert world.document(world.doc_number(kind, i))[1] == world.title(kind, i)


def _docs_by_id(world):
    return {doc_id: (title, text) for doc_id, title, text in world.documents()}


def test_every_answer_is_stated_in_the_gold_documents_and_never_in_the_question(world):
    docs = _docs_by_id(world)
    kinds, hops = Counter(), Counter()
    for i in range(400):
        q = world.question(i)
        kinds[q.kind] += 1
        hops[q.hops] += 1
        assert q.answer == q.aliases[0] and len(q.oracle_queries) == q.hops
        assert all(doc in docs for doc in q.gold_docs)
        assert not set(normalize_answer(q.answer).split()) & set(normalize_answer(q.question).split())
        gold_text = normalize_answer(" ".join(" ".join(docs[d]) for d in q.gold_docs))
        if q.kind != "aggregation":  # a sum or a difference is computed, not stated
            assert normalize_answer(q.answer) in gold_text, (q, gold_text)
        for doc, query in zip(q.gold_docs, q.oracle_queries):
            assert docs[doc][0] == query  # the oracle searches each gold document's title
    assert set(kinds) == set(World.KINDS)
    assert set(hops) == {1, 2, 3, 4}


def test_aggregation_answers_are_computed_from_the_gold_documents(world):
    docs = _docs_by_id(world)
    founded = re.compile(r"(?:founded|established) in (\d{4})|founded [^.]*? in (\d{4})")
    staff = re.compile(r"(?:employs|staff of) ([\d,]+)")
    checked = 0
    for i in range(400):
        q = world.question(i)
        if q.kind != "aggregation":
            continue
        texts = [docs[d][1] for d in q.gold_docs]
        if "employ" in q.question:
            value = sum(int(staff.search(t).group(1).replace(",", "")) for t in texts)
        else:
            years = [int(next(g for g in founded.search(t).groups() if g)) for t in texts]
            value = abs(years[0] - years[1])
        assert str(value) == q.answer, (q, texts)
        checked += 1
    assert checked >= 20


def test_distractors_share_names_and_attributes(world):
    surnames = Counter(world.person_surname.tolist())
    assert sum(c for c in surnames.values() if c > 1) / world.counts["person"] > 0.5
    roots = Counter(world.org_root.tolist())
    assert sum(c for c in roots.values() if c > 1) / world.counts["org"] > 0.5
    twins = [n for n in world.city_name if " " in n and n.split(" ", 1)[1] in world.city_name]
    assert twins
    docs = _docs_by_id(world)
    # an article names another person with the same surname, with that person's own facts
    mentions = 0
    for p in range(200):
        other = int(world.person_confused[p])
        if other >= 0:
            text = docs[world.doc_id("person", p)][1]
            assert world.person(other) in text and str(int(world.person_born[other])) in text
            mentions += 1
    assert mentions > 50


def test_intersection_questions_have_exactly_one_common_participant(world):
    seen = 0
    for i in range(600):
        q = world.question(i, kinds=("intersection",))
        if "took part in both" not in q.question:
            continue
        e1, e2 = (world.entity_of(int(d[1:]))[1] for d in q.gold_docs)
        common = set(world.event_people[e1].tolist()) & set(world.event_people[e2].tolist())
        assert [world.person(p) for p in common] == [q.answer]
        seen += 1
        if seen >= 10:
            break
    assert seen >= 10


def test_question_kinds_filter_and_bad_arguments():
    w = World(600, 0)
    assert {w.question(i, kinds=("comparison",)).kind for i in range(30)} == {"comparison"}
    with pytest.raises(ValueError, match="unknown question kinds"):
        w.question(0, kinds=("nonsense",))
    with pytest.raises(ValueError, match="at least 60"):
        World(10)


def test_world_is_numpy_backed_and_scales(world):
    assert isinstance(world.person_born, np.ndarray) and world.person_born.dtype.kind == "i"
    assert (world.org_founded >= world.person_born[world.org_founder] + 22).all()  # founders are grown-ups


def test_a_saved_world_loads_memory_mapped_and_identical(tmp_path):
    world = World(700, seed=9)
    world.save(tmp_path)
    loaded = World.load(tmp_path)
    assert isinstance(loaded.person_born, np.memmap) and loaded.counts == world.counts
    assert [loaded.document(j) for j in range(700)] == [world.document(j) for j in range(700)]
    assert [loaded.question(i) for i in range(60)] == [world.question(i) for i in range(60)]
    assert loaded.event_links == world.event_links


def test_the_env_saves_its_world_beside_the_corpus_and_reuses_it(tmp_path):
    import subprocess
    import sys

    from densegym.envs.search.env import world_corpus_path

    code = ("from densegym.envs.search.env import SearchQAEnv; import sys; "
            "e = SearchQAEnv(num_docs=700, world_seed=3, cache_dir=sys.argv[1]); "
            "print(type(e.world.person_born).__name__, e.resolve_task(5).question)")  # fmt: skip
    first = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    second = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.split(" ", 1)[0] == "ndarray" and second.stdout.split(" ", 1)[0] == "memmap"  # generated, then loaded
    assert first.stdout.split(" ", 1)[1] == second.stdout.split(" ", 1)[1]
    assert (Path(str(world_corpus_path(700, 3, tmp_path)) + ".tables") / "world.json").is_file()
