"""The warm start's move accuracy against the exact oracle: the probe reads the policy's preference among the
four moves on the oracle's path, and scores it against the oracle's optimal and legal moves."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from densegym.agents.context import ContextPolicy  # noqa: E402
from densegym.agents.hf import HFAgent  # noqa: E402
from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer  # noqa: E402
from densegym.trainers.batch import Row  # noqa: E402
from densegym.trainers.move_accuracy import oracle_move_accuracy, oracle_path_states  # noqa: E402
from densegym.trainers.sft import end_of_turn_id, supervised_finetune  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ENV, KWARGS = "densegym/Sokoban-v0", {"dim_room": [6, 6], "num_boxes": 1, "difficulty": [2, 6], "max_turns": 8}
SEEDS = range(2_000_000, 2_000_006)


def test_the_probe_walks_every_state_of_the_oracle_path():
    import gymnasium as gym

    context = ContextPolicy("current")
    states = oracle_path_states(ENV, KWARGS, SEEDS, context)
    env = gym.make(ENV, **KWARGS)
    lengths = []
    for seed in SEEDS:
        env.reset(seed=seed)
        lengths.append(env.unwrapped.privileged()["start_distance"])
    assert len(states) == sum(lengths)  # one state per optimal move
    for conversation, best, legal in states:
        assert best and best <= legal <= {"up", "down", "left", "right"}
        assert conversation[-1]["role"] == "user" and "You are at" in conversation[-1]["content"]


def test_a_policy_that_always_says_left_scores_exactly_where_left_is_optimal():
    """Teach the tiny model one answer for every prompt; the probe must then score left's optimal and legal
    shares of the states, computed here independently from the oracle."""
    tokenizer = build_tiny_tokenizer()
    agent = HFAgent(build_tiny_model(tokenizer, seed=0), tokenizer, max_new_tokens=8)
    context = ContextPolicy("current")
    states = oracle_path_states(ENV, KWARGS, SEEDS, context)
    left = tokenizer("<action>left</action>", add_special_tokens=False)["input_ids"] + [end_of_turn_id(tokenizer)]
    rows = [Row(i, 0, tuple(agent.prompt_ids(c)), tuple(left)) for i, (c, _, _) in enumerate(states)]
    supervised_finetune(agent.model, rows, pad_token_id=agent.pad_token_id, epochs=6, lr=3e-3, batch_rows=8)
    result = oracle_move_accuracy(agent, ENV, KWARGS, SEEDS, context)
    assert result["states"] == len(states)
    assert result["accuracy"] == pytest.approx(sum("left" in best for _, best, _ in states) / len(states))
    assert result["legal"] == pytest.approx(sum("left" in legal for _, _, legal in states) / len(states))
    assert result["chance"] == pytest.approx(sum(len(best) / 4 for _, best, _ in states) / len(states))
    assert 0 < result["accuracy"] < 1  # the levels need other moves too: the test can tell the scores apart
