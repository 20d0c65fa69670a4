"""SearchQAEnv on a small generated world with a real bm25s index: the issue's "what must hold", the reward
components, bad input, snapshots and the Gymnasium checker."""

from __future__ import annotations

import re

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from densegym.envs.search.text import f1, normalize_answer

TASKS = 120  # questions played per property test: ~0.2 s of env steps each


def _play(env, task, actions=None):
    """Play ``task`` with the oracle (or the given actions); return the final info and every step's info."""
    env.reset(options={"task": task})
    infos = []
    for action in actions or iter(lambda: env.oracle_action(), None):
        _, _, term, trunc, info = env.step(action)
        infos.append(info)
        if term or trunc:
            break
    return infos[-1], infos


def test_oracle_queries_surface_every_gold_document_in_the_top_10(env):
    complete = 0
    for i in range(TASKS):
        q = env.resolve_task(i)
        hits = env.retriever.search(list(q.oracle_queries), 10)
        surfaced = {h.doc_id for row in hits for h in row}
        complete += set(q.gold_docs) <= surfaced
    assert complete / TASKS >= 0.90


def test_the_oracle_scores_f1_of_at_least_095_and_collects_every_gold_document(env):
    scores, retrieval = [], []
    for i in range(TASKS):
        last, infos = _play(env, i)
        scores.append(last["f1"])
        assert last["em"] in (0.0, 1.0) and last["success"] == bool(last["em"])
        retrieval.append(sum(info["reward_components"]["retrieval"] for info in infos))
        assert all(info["reward_components"]["redundancy"] == 0.0 for info in infos)
    assert np.mean(scores) >= 0.95
    assert np.mean(retrieval) >= 0.9 and max(retrieval) == pytest.approx(1.0)


def _no_retrieval_answers(question: str) -> list[str]:
    """What an agent that never searches can say: the question itself, its names, a common guess."""
    names = re.findall(r"(?:[A-Z][a-z]+ )+[A-Z][a-z]+|[A-Z][a-z]{3,}", question)
    return [question, names[-1] if names else question, "1900", "London", "John Smith", "engineer"]


def test_an_agent_that_answers_without_retrieval_scores_below_01(env):
    per_strategy = np.zeros(6)
    for i in range(TASKS):
        env.reset(options={"task": i})
        for s, answer in enumerate(_no_retrieval_answers(env.task.question)):
            per_strategy[s] += f1(answer, env.task.aliases)
    per_strategy /= TASKS
    assert per_strategy.max() < 0.1, per_strategy


def test_gold_answer_aliases_and_doc_ids_never_appear_in_the_prompt(env):
    for i in range(TASKS):
        obs, info = env.reset(options={"task": i})
        task = env.task
        norm_obs = f" {normalize_answer(obs)} "
        for alias in task.aliases:
            assert f" {normalize_answer(alias)} " not in norm_obs, (alias, obs)
        for doc in task.gold_docs:
            assert doc not in obs
        privileged = info["privileged"]
        assert privileged["answer"] == task.answer and privileged["gold_docs"] == list(task.gold_docs)
        assert set(privileged["aliases"]) == set(task.aliases)
        assert set(info) - {"privileged"} == {"task_id", "turn", "anchor", "reward_weights"}
        assert task.answer not in info["anchor"] and not any(d in info["anchor"] for d in task.gold_docs)


def test_search_shows_top_k_passages_and_read_a_whole_document(make_env):
    env = make_env(top_k=2, passage_chars=80)
    env.reset(options={"task": 0})
    query = env.task.oracle_queries[0]
    obs, _, term, _, info = env.step(f"Let me look. <think>I need facts</think> <search> {query} </search>")
    assert not term and info["action_valid"] and obs.startswith("<information>") and obs.endswith("</information>")
    assert obs.count("\nDoc ") == 2 and len(info["hits"]) == 2
    gold = env.task.gold_docs[0]
    assert f"(id: {gold}, Title: {query})" in obs and f"<read>{gold}</read> shows it all" in obs
    obs, _, _, _, info = env.step(f"<read>{gold}</read>")
    assert info["action_valid"] and env.corpus.get(gold).text in obs and not info["repeated"]
    _, _, _, _, info = env.step(f"<read>{gold}</read>")
    assert info["repeated"] and info["reward_components"]["redundancy"] == -1.0


def test_retrieval_is_potential_based_and_redundancy_catches_near_duplicates(env):
    env.reset(options={"task": "q0"})
    task = env.task
    while env.task.hops < 2:
        env.reset(options={"task": int(task.id[1:]) + 1})
        task = env.task
    first = task.oracle_queries[0]
    steps = [f"<search>{first}</search>", f"<search>{first.upper()}!</search>", "<search>completely unrelated words</search>",
             f"<search>{task.oracle_queries[1]}</search>"]
    comps = [env.step(a)[4]["reward_components"] for a in steps]
    share = 1 / task.hops
    assert comps[0]["retrieval"] == pytest.approx(share) and comps[0]["redundancy"] == 0.0
    assert comps[1]["retrieval"] == 0.0 and comps[1]["redundancy"] == -1.0  # same terms, other case and punctuation
    assert comps[2]["retrieval"] == 0.0 and comps[2]["redundancy"] == 0.0
    assert comps[3]["retrieval"] == pytest.approx(share) and comps[3]["redundancy"] == 0.0
    _, _, term, _, info = env.step("<answer>a wrong answer</answer>")
    assert term and info["reward_components"]["outcome"] == 0.0 and info["em"] == 0.0 and not info["success"]


def test_answers_are_scored_with_search_r1_normalisation_and_aliases(env):
    env.reset(options={"task": 0})
    task = env.task
    alias = task.aliases[-1]
    _, reward, term, _, info = env.step(f"<think>done</think><answer>  The {alias.upper()}. </answer>")
    assert term and info["em"] == 1.0 and info["f1"] == 1.0 and info["success"] and reward == pytest.approx(1.0)
    assert f1("Paris, France", "paris") == pytest.approx(2 / 3) and f1("the Paris!", ["Lyon", "paris"]) == 1.0


@pytest.mark.parametrize(
    "action, message",
    [
        ("", "no <search>, <read> or <answer> block"),
        ("<search>   </search>", "the search query is empty"),
        ("<search>\x00\x07\x1b</search>", "the search query is empty"),
        ("<search>?!? ... ---</search>", "has no letter or digit"),
        ("<search>a</search> then <answer>b</answer>", "<search> and <answer> blocks"),
        ("<search>unclosed query", "not closed with </search>"),
        ("<read>d9999999</read>", "no document has the id 'd9999999'"),
        ("<read></read>", "the <read> block is empty"),
        ("<answer> </answer>", "the answer is empty"),
        ("<search>" + "x" * 2_000 + "</search>", "at most 1,000 are accepted"),
        ("y" * 1_000_000, "at most 16,384 are accepted"),
    ],
)
def test_bad_input_is_answered_in_the_observation_and_changes_nothing(env, action, message):
    env.reset(options={"task": 3})
    before = env.anchor()
    obs, reward, term, trunc, info = env.step(action)
    assert obs.startswith("Invalid action:") and message in obs and "Write exactly one of" in obs
    assert not info["action_valid"] and info["reward_components"]["format"] == -1.0
    assert not term and env.anchor() == before
    _, _, _, _, info = env.step(env.oracle_action())  # the env keeps working
    assert info["action_valid"]


def test_control_characters_and_non_ascii_queries_are_searched(env):
    env.reset(options={"task": 4})
    query = env.task.oracle_queries[0]
    noisy = "\x00".join(query.split(" ")) + "\x1b[31m"
    obs, _, _, _, info = env.step(f"<search>{noisy}</search>")
    assert info["action_valid"] and env.task.gold_docs[0] in info["hits"]
    obs, _, _, _, info = env.step("<search>Ünïcödé 東京 Ζεύς</search>")
    assert info["action_valid"] and "No document matched" in obs
    obs, _, _, _, info = env.step("<think><answer>ignored</answer></think><search>ＦＵＬＬ ｗｉｄｔｈ</search>")
    assert info["action_valid"] and obs.startswith("<information>")  # full-width letters are NFKC-folded


def test_same_seed_same_task_same_rewards_and_snapshot_round_trip(make_env):
    a, b = make_env(), make_env()
    obs_a, _ = a.reset(seed=11)
    obs_b, _ = b.reset(seed=11)
    assert obs_a == obs_b
    for _ in range(3):
        act = a.oracle_action()
        ra, rb = a.step(act), b.step(act)
        assert ra[0] == rb[0] and ra[1] == rb[1] and ra[4]["anchor"] == rb[4]["anchor"]
        if ra[2]:
            break
    a.reset(options={"task": 7})
    a.step(f"<search>{a.task.oracle_queries[0]}</search>")
    snap = a.snapshot()
    anchor = a.anchor()
    reward, info = a.score_action(f"<answer>{a.task.answer}</answer>")
    assert info["em"] == 1.0 and a.anchor() == anchor
    a.step("<search>something else entirely</search>")
    a.restore(snap)
    assert a.anchor() == anchor and a.state_view().gold_surfaced >= 1


def test_truncation_at_max_turns_and_the_gymnasium_checker(make_env):
    env = make_env(max_turns=2)
    check_env(env, skip_render_check=True)
    env.reset(options={"task": 0})
    env.step("<search>alpha</search>")
    _, _, term, trunc, info = env.step("<search>beta</search>")
    assert trunc and not term and info["success"] is False and info["outcome"] == 0.0


def test_tasks_by_id_index_and_object_and_unknown_ones(env):
    q = env.resolve_task(5)
    assert env.resolve_task("q5") == q and env.resolve_task(q) is q
    for bad in ("nope", -1, 2.5):
        with pytest.raises(ValueError, match="unknown search task"):
            env.resolve_task(bad)


def test_a_task_id_reproduces_its_question_with_and_without_a_kinds_filter(make_env):
    plain, filtered = make_env(), make_env(question_kinds=["comparison", "aggregation"])
    for i in range(10):
        q = filtered.resolve_task(i)
        assert q.kind in ("comparison", "aggregation") and q.id == f"q{i}:aggregation+comparison"
        assert plain.resolve_task(q.id) == q  # the id alone gives the same question on any env of this world
        assert filtered.resolve_task(plain.resolve_task(i).id) == plain.resolve_task(i)
    for bad in ("q1:nonsense", "q:comparison", "x5"):
        with pytest.raises(ValueError, match="unknown search task"):
            plain.resolve_task(bad)


def test_random_agent_episodes_run_and_close_releases_the_http_client(make_env):
    env = make_env(max_turns=4)
    rng = np.random.default_rng(0)
    for seed in range(5):
        env.reset(seed=seed)
        while True:
            _, _, term, trunc, info = env.step(env.random_action(rng))
            assert info["action_valid"]  # random_action is well-formed
            if term or trunc:
                break
    from densegym.envs.search.remote import serve_retriever

    with serve_retriever(env.retriever) as server:
        remote = make_env(retriever=server.url)
        client = remote.retriever
        remote.reset(options={"task": 0})
        remote.step("<search>anything</search>")
        remote.close()
        assert client._pool._shutdown and remote._owned is None
