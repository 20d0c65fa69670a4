"""Information gain as a trajectory transform (docs/algorithms.md section 2(b), 2(d)) with a real tiny Qwen2 probe."""

from __future__ import annotations

import numpy as np
import pytest

from densegym.rewards.info_gain import (
    IGPO_RESPONSE_PREFIX,
    BeliefProbe,
    HFBeliefProbe,
    apply_info_gain,
    conversation_prefixes,
    gold_answer,
    information_gain,
)
from densegym.trainers.estimators import IGPOConfig, igpo
from densegym.trajectory import Trajectory, Turn

from tests.helpers import require

try:
    import torch
    import transformers  # noqa: F401
except ImportError:
    torch = None


@pytest.fixture(scope="module")
def probe():
    """A real tiny Qwen2 (``densegym.models.tiny``) as the rollout policy; needs the [train] extra."""
    require(torch is not None, "torch and transformers", 'pip install "densegym[train]"')
    from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=1, num_hidden_layers=2, hidden_size=32, intermediate_size=64,
                             num_attention_heads=2, num_key_value_heads=1)
    return HFBeliefProbe(model, tokenizer, batch_size=2)


def search_traj(group="q", answer="Paris", outcome=1.0):
    turns = [
        Turn(observation="Question: what is the capital of France?", action="<search>France capital</search>",
             reward=0.0, components={}),
        Turn(observation="Doc: Paris is the capital and largest city of France.", action="<search>Paris</search>",
             reward=0.0, components={}),
        Turn(observation="Doc: Paris has 2.1 million residents.", action="<answer>Paris</answer>",
             reward=1.0, components={}),
    ]
    return Trajectory(env_id="search", task_id="t", group_id=group, turns=turns, outcome=outcome,
                      success=outcome > 0, privileged={"answer": answer})


def test_conversation_prefixes_are_the_history_before_each_turn():
    prefixes = conversation_prefixes(search_traj(), system_prompt="Be brief.")
    assert len(prefixes) == 3
    assert [m["role"] for m in prefixes[0]] == ["system", "user"]
    assert [m["role"] for m in prefixes[2]] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert prefixes[2][-1]["content"].startswith("Doc: Paris has")
    assert prefixes[1][2]["content"] == "<search>France capital</search>"


def test_gold_answer_keys_and_aliases():
    traj = search_traj()
    assert gold_answer(traj) == "Paris"
    traj.privileged = {"answers": ["Paris", "City of Light"]}
    assert gold_answer(traj, "answers") == "Paris"
    assert gold_answer(traj, lambda p: p["answers"][1]) == "City of Light"
    with pytest.raises(KeyError, match="answers"):
        gold_answer(traj)


def test_hf_probe_scores_only_the_answer_tokens(probe):
    """l_t equals the mean teacher-forced log-prob of the answer tokens, computed here by hand on one
    unpadded sequence; batching with padding does not change it."""
    assert isinstance(probe, BeliefProbe)
    prefixes = conversation_prefixes(search_traj())
    scores = probe.log_prob_of_answer(prefixes, "Paris")
    tok, model = probe.tokenizer, probe.model
    for messages, score in zip(prefixes, scores):
        context = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + IGPO_RESPONSE_PREFIX
        ctx_ids = tok(context, add_special_tokens=False)["input_ids"]
        ans_ids = tok("Paris", add_special_tokens=False)["input_ids"]
        ids = torch.tensor([ctx_ids + ans_ids])
        with torch.no_grad():
            log_probs = torch.log_softmax(model(input_ids=ids).logits[0], dim=-1)
        by_hand = np.mean([float(log_probs[len(ctx_ids) + j - 1, a]) for j, a in enumerate(ans_ids)])
        assert score == pytest.approx(by_hand, abs=1e-5)
        assert score < 0
    assert len(set(np.round(scores, 8))) == 3  # the history changes the belief
    assert probe.log_prob_of_answer(prefixes, "Lyon") != scores


def test_apply_info_gain_writes_components_and_telescopes(probe):
    batch = [search_traj(), search_traj(outcome=0.0, answer="Paris")]
    log_probs = apply_info_gain(batch, probe, kind="prob_diff")
    for traj, ell in zip(batch, log_probs):
        gains = [turn.components["info_gain"] for turn in traj.turns]
        assert gains[-1] == 0.0  # the answer turn is scored by the outcome
        np.testing.assert_allclose(gains[:-1], information_gain(ell, "prob_diff"))
        assert sum(gains) == pytest.approx(np.exp(ell[-1]) - np.exp(ell[0]))
        assert traj.turns[0].info["belief_log_prob"] == pytest.approx(ell[1])
    from_components = igpo(batch)
    from_log_probs = igpo(batch, IGPOConfig(), belief_log_probs=log_probs)
    for a, b in zip(from_components, from_log_probs):
        np.testing.assert_allclose(a, b)
    fresh = search_traj()
    ell = apply_info_gain([fresh], probe, kind="log_prob_diff")[0]
    np.testing.assert_allclose(ell, log_probs[0])  # the probe is deterministic
    assert sum(t.components["info_gain"] for t in fresh.turns) == pytest.approx(ell[-1] - ell[0])
