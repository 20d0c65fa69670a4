"""Fuzzing SearchQAEnv's action handling: garbage, Unicode, near-miss markup and nested tags never raise; an
accepted action is exactly one of the three, and a rejected one leaves the state as it was."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip

PIECES = st.sampled_from(["<search>", "</search>", "<read>", "</read>", "<answer>", "</answer>", "<think>",
                          "</think>", "<SEARCH>", "</Answer>", "<search >", "d0000001", " ", "\n", "\x00", "é",
                          "İ", "東京", "?", "the", "Vesk", "<", ">", "/"])  # fmt: skip
TEXT = st.one_of(st.text(max_size=300), st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=40).map("".join))


_THINK = re.compile(r"<think>.*?</think>", re.IGNORECASE | re.DOTALL)


def reference_kinds(text: str) -> set[str]:
    """The action tags with a complete block outside ``<think>...</think>`` (an opening before a closing)."""
    visible = _THINK.sub(" ", text)
    kinds = set()
    for tag in ("search", "read", "answer"):
        closes = [m.start() for m in re.finditer(f"</{tag}>", visible, re.IGNORECASE)]
        if closes and re.search(f"<{tag}>", visible[: closes[-1]], re.IGNORECASE):
            kinds.add(tag)
    return kinds


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory):
    from densegym.envs.search import SearchQAEnv

    env = SearchQAEnv(num_docs=600, cache_dir=tmp_path_factory.mktemp("fuzz"))
    env.reset(options={"task": 0})
    yield env
    env.close()


@FUZZ
@given(text=TEXT)
def test_any_text_is_answered_and_a_rejected_action_changes_nothing(fuzz_env, text):
    env = fuzz_env
    env.reset(options={"task": 0})
    saved, anchor = env.snapshot(), env.anchor()
    obs, reward, term, trunc, info = env.step(text)
    assert isinstance(obs, str) and isinstance(reward, float)
    kinds = reference_kinds(text)
    if len(kinds) > 1:
        assert not info["action_valid"] and "write one action per turn" in info["action_error"]
    if not info["action_valid"]:
        assert obs.startswith("Invalid action:") and info["action_error"] and not term
        assert env.anchor() == anchor and info["reward_components"]["format"] == -1.0
    else:
        assert len(kinds) == 1 and info["reward_components"]["format"] == 0.0
        (kind,) = kinds
        if kind == "answer":
            assert term and 0.0 <= info["f1"] <= 1.0
        elif kind == "read":
            assert obs.startswith("<information>\nDocument ") and not term
        else:
            assert obs.startswith("<information>\n") and not term and len(info["hits"]) <= env.top_k
    env.restore(saved)
