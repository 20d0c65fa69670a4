"""IGPO's information gain on real SearchQA trajectories, scored by a real tiny Qwen2 (docs/algorithms.md
section 2(e)): the gold answer reaches the probe only through ``privileged``; the gains telescope; a one-turn
episode reduces IGPO to GRPO on F1 with the population std."""

from __future__ import annotations

import numpy as np
import pytest

from densegym.agents.scripted import OracleAgent
from densegym.episode import run_episode
from densegym.rewards.info_gain import HFBeliefProbe, apply_info_gain, conversation_prefixes, gold_answer
from densegym.envs.search.text import normalize_answer
from tests.helpers import require_import

require_import("torch", "pip install 'densegym[train]'")
require_import("transformers", "pip install 'densegym[train]'")

from densegym.trainers.estimators import GRPOConfig, IGPOConfig, grpo, igpo  # noqa: E402


@pytest.fixture(scope="module")
def probe():
    from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=3, num_hidden_layers=2, hidden_size=32, intermediate_size=64,
                             num_attention_heads=2, num_key_value_heads=1)  # fmt: skip
    model.eval()
    return HFBeliefProbe(model, tokenizer, batch_size=4)


class _Guess:
    """Answers at once, without searching: a one-turn episode."""

    def __init__(self, answer):
        self.answer = answer

    def act(self, env, observation):
        return f"<answer>{self.answer}</answer>"


def _multi_hop_tasks(env, count):
    out, i = [], 0
    while len(out) < count:
        if env.resolve_task(i).hops >= 2:
            out.append(i)
        i += 1
    return out


def test_information_gain_on_oracle_episodes_telescopes(env, probe):
    batch = [run_episode(env, OracleAgent(), options={"task": i}, group_id=f"g{i}") for i in _multi_hop_tasks(env, 3)]
    for traj in batch:
        task = env.resolve_task(traj.task_id)
        assert len(traj.turns) == task.hops + 1 and traj.outcome == 1.0
        assert gold_answer(traj) == task.answer and traj.privileged["aliases"][0] == task.answer
        prompt = conversation_prefixes(traj)[0][0]["content"]  # what the probe conditions on at t = 0
        assert f" {normalize_answer(task.answer)} " not in f" {normalize_answer(prompt)} "
    for kind in ("prob_diff", "log_prob_diff"):
        log_probs = apply_info_gain(batch, probe, kind=kind)
        for traj, ell in zip(batch, log_probs):
            gains = np.array([turn.components["info_gain"] for turn in traj.turns])
            assert ell.shape == (len(traj.turns),) and np.all(ell < 0) and gains[-1] == 0.0
            if kind == "prob_diff":
                assert np.all(np.abs(gains) <= 1.0)
                assert gains.sum() == pytest.approx(np.exp(ell[-1]) - np.exp(ell[0]))
            else:
                assert gains.sum() == pytest.approx(ell[-1] - ell[0])
            assert len(set(np.round(ell, 7))) > 1  # the retrieved passages move the belief
    advantages = igpo(batch, IGPOConfig(norm_mode="separate"))
    assert [a.shape for a in advantages] == [(len(t.turns),) for t in batch] and all(np.isfinite(a).all() for a in advantages)


def test_a_one_turn_episode_reduces_igpo_to_grpo_on_f1(env, probe):
    env.reset(options={"task": 0})
    task = env.task
    words = task.answer.split()
    guesses = [task.answer, words[0] + " somebody", "nobody at all", task.answer.upper()]
    group = [run_episode(env, _Guess(g), options={"task": 0}, group_id="one") for g in guesses]
    assert all(len(t.turns) == 1 for t in group)
    f1s = [t.outcome for t in group]
    assert f1s[0] == 1.0 and f1s[2] == 0.0 and len(set(f1s)) >= 2
    log_probs = apply_info_gain(group, probe)
    assert all(lp.shape == (1,) for lp in log_probs) and all(t.turns[0].components["info_gain"] == 0.0 for t in group)
    adv = np.array([a[0] for a in igpo(group)])
    reference = np.array([a[0] for a in grpo(group, GRPOConfig(unbiased_std=False))])
    np.testing.assert_allclose(adv, reference, atol=1e-5)
