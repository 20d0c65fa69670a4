"""FlashRAG JSONL and BEIR loaders on small files the tests write, and the env over what they load."""

from __future__ import annotations

import json

import pytest

from densegym.envs.search import SearchQAEnv
from densegym.envs.search.loaders import load_beir, load_corpus, load_flashrag

WIKI = [
    {"id": "0", "contents": '"Vesk"\nVesk is a city on the Mara river, founded in 1204.'},
    {"id": "1", "contents": '"Orlen Works"\nOrlen Works is a glassmaking company headquartered in Vesk.'},
    {"id": "2", "contents": '"Ilsa Dorn"\nIlsa Dorn is a potter who founded Orlen Works.'},
    {"id": "3", "title": "Mara", "text": "The Mara is a river that runs through Vesk."},
]
QA = [
    {"id": "test_0", "question": "Who founded Orlen Works?", "golden_answers": ["Ilsa Dorn", "I. Dorn"],
     "metadata": {"supporting_facts": {"title": ["Orlen Works", "Nowhere"], "sent_id": [0, 0]}}},
    {"id": "test_1", "question": "When was the city on the Mara founded?", "golden_answers": ["1204"],
     "gold_docs": ["0", "404"]},
]


def _write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def flashrag(tmp_path):
    corpus = load_corpus(_write_jsonl(tmp_path / "wiki.jsonl", WIKI), cache_dir=tmp_path / "cache")
    (tmp_path / "nq").mkdir()
    return corpus, _write_jsonl(tmp_path / "nq" / "test.jsonl", QA)


def test_flashrag_corpus_and_dataset(flashrag, tmp_path):
    corpus, dataset = flashrag
    assert len(corpus) == 4 and corpus.get("1").title == "Orlen Works" and corpus.get("3").title == "Mara"
    again = load_corpus(tmp_path / "wiki.jsonl", cache_dir=tmp_path / "cache")
    assert again.path == corpus.path and again.fingerprint == corpus.fingerprint  # converted once
    tasks = load_flashrag(dataset, corpus, match_titles=True)
    assert [t.id for t in tasks] == ["test_0", "test_1"] and tasks[0].kind == "nq"
    assert tasks[0].aliases == ("Ilsa Dorn", "I. Dorn") and tasks[0].gold_docs == ("1",)  # "Nowhere" is not in it
    assert tasks[1].gold_docs == ("0",) and tasks[1].oracle_queries == ("Vesk",)  # unknown "404" dropped
    assert load_flashrag(dataset)[0].gold_docs == ()  # no corpus: no title matching


def test_the_env_over_a_flashrag_dataset(flashrag, tmp_path):
    corpus, dataset = flashrag
    tasks = load_flashrag(dataset, corpus, match_titles=True)
    env = SearchQAEnv(corpus=corpus, tasks=tasks, cache_dir=tmp_path / "cache", top_k=2)
    obs, info = env.reset(options={"task": "test_0"})
    assert "Who founded Orlen Works?" in obs and "Ilsa Dorn" not in obs
    _, _, _, _, info = env.step(env.oracle_action())
    assert info["reward_components"]["retrieval"] == 1.0
    _, reward, term, _, info = env.step("<answer>i dorn</answer>")
    assert term and info["em"] == 1.0 and info["success"]


@pytest.mark.parametrize(
    "line, message",
    [("not json", "not valid JSON"), ('["a list"]', "expected a JSON object"), ('{"id": "1", "question": "q"}', "no 'golden_answers'"),
     ('{"golden_answers": ["x"]}', "no 'question'")],
)
def test_flashrag_bad_lines_name_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(QA[1]) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=f"bad.jsonl:2: .*{message}"):
        load_flashrag(path)


@pytest.fixture
def beir(tmp_path):
    root = tmp_path / "scifact"
    (root / "qrels").mkdir(parents=True)
    _write_jsonl(root / "corpus.jsonl", [
        {"_id": "d1", "title": "Glass annealing", "text": "Annealing glass slowly removes internal stress."},
        {"_id": "d2", "title": "River deltas", "text": "Deltas form where rivers deposit sediment."},
        {"_id": "d3", "title": "", "text": "Potters fire clay in kilns at high temperature to harden it."},
    ])  # fmt: skip
    _write_jsonl(root / "queries.jsonl", [{"_id": "q1", "text": "how is stress removed from glass"},
                                          {"_id": "q2", "text": "how do kilns harden clay"},
                                          {"_id": "q3", "text": "unjudged query"}])  # fmt: skip
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td3\t2\nq2\tgone\t1\n")
    return root


def test_beir_directory_and_a_retrieval_only_episode(beir, tmp_path):
    corpus, tasks = load_beir(beir, cache_dir=tmp_path / "cache")
    assert len(corpus) == 3 and [t.id for t in tasks] == ["q1", "q2"]
    assert tasks[0].gold_docs == ("d1",) and tasks[1].gold_docs == ("d3",) and tasks[0].answer == ""
    assert tasks[1].oracle_queries[0].startswith("Potters fire clay")  # no title: the text's first words
    env = SearchQAEnv(corpus=corpus, tasks=tasks, cache_dir=tmp_path / "cache")
    env.reset(options={"task": "q2"})
    _, _, _, _, info = env.step(env.oracle_action())
    assert info["reward_components"]["retrieval"] == 1.0
    _, _, term, _, info = env.step(env.oracle_action())
    assert term and info["outcome"] == 1.0 and info["recall"] == 1.0 and info["success"]
    with pytest.raises(FileNotFoundError, match="qrels/dev.tsv is missing"):
        load_beir(beir, "dev")


def test_the_env_takes_the_files_themselves(flashrag, beir, tmp_path):
    _, dataset = flashrag
    env = SearchQAEnv(corpus=tmp_path / "wiki.jsonl", tasks=dataset, cache_dir=tmp_path / "cache")
    env.reset(options={"task": "test_0"})
    assert env.task.gold_docs == ("1",) and len(env.corpus) == 4  # titles matched against the given corpus
    beir_env = SearchQAEnv(tasks=beir, cache_dir=tmp_path / "cache")
    beir_env.reset(options={"task": "q1"})
    assert len(beir_env.corpus) == 3 and beir_env.task.gold_docs == ("d1",)
    with pytest.raises(FileNotFoundError, match="not a BEIR directory"):
        SearchQAEnv(tasks=tmp_path, cache_dir=tmp_path / "cache")
