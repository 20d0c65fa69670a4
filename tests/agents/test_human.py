"""HumanAgent: shows the latest observation, reads one line per conversation."""

from __future__ import annotations

import io

import pytest

from densegym.agents import AgentError, HumanAgent
from densegym.agents.human import HumanQuit


def test_prints_latest_observation_and_wraps_a_bare_move():
    out = io.StringIO()
    agent = HumanAgent(io.StringIO("up\n<action>left</action>\n"), out)
    convs = [
        [{"role": "user", "content": "first grid"}, {"role": "assistant", "content": "x"},
         {"role": "user", "content": "second grid"}],
        [{"role": "user", "content": "other env"}],
    ]
    a, b = agent.act(convs)
    assert a.text == "<action>up</action>" and b.text == "<action>left</action>"
    shown = out.getvalue()
    assert "second grid" in shown and "first grid" not in shown and "other env" in shown
    assert "env 1 of 2" in shown and a.prompt_ids is None


def test_end_of_input_and_quit_words_end_the_session():
    conv = [{"role": "user", "content": "grid"}]
    with pytest.raises(HumanQuit, match="no more input"):
        HumanAgent(io.StringIO(""), io.StringIO()).act([conv])
    with pytest.raises(AgentError, match="quit"):
        HumanAgent(io.StringIO(" Quit \n"), io.StringIO()).act([conv])


def test_lines_without_the_tag_are_wrapped_as_in_densegym_play():
    lines = io.StringIO("jump\n\nI push <ACTION>down</ACTION>\n")
    outs = HumanAgent(lines, io.StringIO()).act([[{"role": "user", "content": "g"}]] * 3)
    assert [o.text for o in outs] == ["<action>jump</action>", "<action></action>", "I push <ACTION>down</ACTION>"]


def test_plays_sokoban_from_typed_lines():
    import gymnasium as gym

    import densegym  # noqa: F401

    env = gym.make("densegym/Sokoban-v0")
    obs, _ = env.reset(seed=0)
    moves = io.StringIO(env.unwrapped.oracle_action().removeprefix("<action>").removesuffix("</action>") + "\n")
    [out] = HumanAgent(moves, io.StringIO()).act([[{"role": "user", "content": obs}]])
    _, _, _, _, info = env.step(out.text)
    assert info["action_valid"] and info["reward_components"]["progress"] > 0
    env.close()
