"""Fuzzing Sokoban's action handling: garbage, unicode, near-miss markup and megabyte actions never raise.

Each action is also checked against a small reference parser of the documented format (the last
``</action>``, the last ``<action>`` before it, case-insensitive; moves separated by whitespace,
commas or semicolons; at most ``moves_per_turn``). When the reference parses the action, the env must do
exactly what the canonical ``<action>m1 m2</action>`` does from the same state (found with
snapshot/restore); when it does not, the action must be rejected with the state unchanged.
"""

from __future__ import annotations

import re

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import densegym  # noqa: F401 - registers the ids
from densegym.envs import TextSpace
from densegym.envs.sokoban.level import MOVES

CONFIGS = {"k1": {}, "k3": {"moves_per_turn": 3}}
FUZZ = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def env(request):
    env = gym.make("densegym/Sokoban-small-v0", **CONFIGS[request.param])
    yield env
    env.close()


# ---- the reference parser ------------------------------------------------------------------------

# Case-insensitive in Python's (Unicode) sense: "<actıon>" with a dotless i counts as a tag too.
_OPEN = re.compile("<action>", re.IGNORECASE)
_CLOSE = re.compile("</action>", re.IGNORECASE)
_SEP = re.compile(r"[\s,;]+")


def reference_moves(text: str, k: int, max_chars: int) -> list[str] | None:
    """The moves the documented format gives for ``text``, or None if it is not a well-formed action."""
    if len(text) > max_chars:
        return None
    closes = [m.start() for m in _CLOSE.finditer(text)]
    if not closes:
        return None
    opens = [m.end() for m in _OPEN.finditer(text, 0, closes[-1])]
    if not opens:
        return None
    words = [w for w in _SEP.split(text[opens[-1] : closes[-1]]) if w]
    if not 1 <= len(words) <= k or any(w.lower() not in MOVES for w in words):
        return None
    return [w.lower() for w in words]


# ---- strategies ------------------------------------------------------------------------------------

FRAGMENTS = [
    "<action>", "</action>", "<ACTION>", "</Action>", "<action >", "< /action>", "<action/>",
    "up", "UP", "Up", "down", "DOWN", "left", "LEFT", "right", "rIgHt", "upp", "u p", "north", "stay",
    ",", ";", " ", "  ", "\n", "\t", "\r\n", "\u2028", "\x0b", "\u00a0", "\u3000",
    "İ", "ı", "ß", "ﬁ", "K", "🙂", "中文", "\x00", "\ud800", "\udfff", "<", ">", "/", "action", "\\", '"', "'", "{", "}",
]
fragments = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=25).map("".join)
well_formed = st.tuples(
    st.text(max_size=20) | fragments,
    st.sampled_from(["<action>", "<ACTION>", "<Action>"]),
    st.lists(st.sampled_from(["up", "down", "left", "right", "UP", "Left", "dOwN"]), min_size=1, max_size=3),
    st.sampled_from([" ", ",", ", ", ";", "\n", "\t", " , "]),
    st.sampled_from(["</action>", "</ACTION>"]),
    st.text(max_size=20) | fragments,
).map(lambda p: p[0] + p[1] + p[3].join(p[2]) + p[4] + p[5])
# well_formed twice: it is the only branch that often yields a legal action.
actions = st.one_of(st.text(), st.text(st.characters(codec="utf-8"), max_size=200), fragments, well_formed, well_formed)


# ---- the checks ------------------------------------------------------------------------------------


def start(env, seed: int, prefix: int) -> None:
    """Reset to the level of ``seed`` and play ``prefix`` oracle turns without ending the episode."""
    env.reset(seed=seed)
    for _ in range(prefix):
        _, _, terminated, truncated, _ = env.step(env.unwrapped.oracle_action())
        if terminated or truncated:
            env.reset(seed=seed)
            return


def check_step(env, action: str) -> dict:
    """Step ``action`` and check it against the reference and the contract; return the step's info."""
    e = env.unwrapped
    anchor, privileged, turn = e.anchor(), e.privileged(), e.turn
    expected = reference_moves(action, e.moves_per_turn, e.action_space.max_length)
    if expected is not None:  # what the canonical form of the same moves does from this state
        saved = e.snapshot()
        _, ref_reward, ref_term, ref_trunc, ref_info = env.step(f"<action>{' '.join(expected)}</action>")
        ref_anchor = e.anchor()
        e.restore(saved)
        assert e.anchor() == anchor and e.turn == turn

    obs, reward, terminated, truncated, info = env.step(action)

    assert isinstance(obs, str) and e.observation_space.contains(obs)
    assert info["turn"] == turn + 1
    assert info["anchor"] == anchor  # the state before the action
    components = info["reward_components"]
    if currently_in_test_context():
        event(f"valid={info['action_valid']}")
    if not info["action_valid"]:
        assert expected is None or not ref_info["action_valid"], f"rejected a well-formed legal action: {action!r}"
        assert e.anchor() == anchor, "an invalid action changed the state"
        assert e.privileged() == privileged
        assert info["privileged"]["distance"] == privileged["distance"]
        assert obs.startswith("Invalid action")
        assert "Accepted:" in obs
        assert isinstance(info["action_error"], str) and info["action_error"] and info["action_error"] in obs
        assert components["format"] == -1.0
        assert components["progress"] == 0.0 and components["outcome"] == 0.0
        assert not terminated
    else:
        assert expected is not None, f"accepted an action the documented format rejects: {action!r}"
        assert ref_info["action_valid"]
        assert info["action_error"] is None
        assert components["format"] == 0.0
        assert e.anchor() == ref_anchor, f"{action!r} did not do what {expected} does"
        assert (reward, terminated, truncated) == (ref_reward, ref_term, ref_trunc)
        assert components == ref_info["reward_components"]
    return info | {"_done": terminated or truncated}


def check_still_works(env, info: dict) -> None:
    if info["_done"]:
        env.reset(seed=0)
    e = env.unwrapped
    if e.privileged()["distance"] == -1:  # deadlocked: the oracle has no optimal move to offer
        return
    anchor, distance = e.anchor(), e.privileged()["distance"]
    _, _, _, _, info = env.step(e.oracle_action())
    assert info["action_valid"], info["action_error"]
    assert info["reward_components"]["format"] == 0.0
    assert e.anchor() != anchor
    # an optimal move: +1 at the episode's lowest distance, 0 from behind it (it only gets back there)
    assert info["reward_components"]["optimal"] == (0.0 if info["behind_best"] else 1.0)
    assert info["privileged"]["distance"] < distance


@FUZZ
@given(action=actions, seed=st.integers(0, 15), prefix=st.integers(0, 3))
@example(action="İ<action>up</action>", seed=0, prefix=0)  # 'İ'.lower() is two characters long
@example(action="<action>up</action>İ", seed=0, prefix=0)
@example(action="İİ <ACTION>left</ACTION>", seed=1, prefix=1)
@example(action="<action>up</action> </action>", seed=0, prefix=0)
@example(action="<action><action>left</action>", seed=0, prefix=0)
@example(action="", seed=0, prefix=0)
def test_fuzz_step(env, action, seed, prefix):
    start(env, seed, prefix)
    info = check_step(env, action)
    check_still_works(env, info)


@FUZZ
@given(actions=st.lists(actions, min_size=2, max_size=8), seed=st.integers(0, 15))
def test_fuzz_sequences(env, actions, seed):
    """Several fuzzed turns in a row, resetting when an episode ends."""
    env.reset(seed=seed)
    for action in actions:
        info = check_step(env, action)
        if info["_done"]:
            env.reset(seed=seed)
    check_still_works(env, {"_done": False})


def test_extract_tag_with_length_changing_lowercase():
    """``extract_tag`` lowercases to match the tag; characters whose lowercase has another length
    (U+0130 'İ' -> 'i̇') must not shift where the action's text is cut."""
    from densegym.envs.base import extract_tag

    assert extract_tag("İ<action>up</action>") == "up"
    assert extract_tag("İİİ <action>left right</action> İ") == "left right"
    assert extract_tag("<ACTION>down</Action>") == "down"


# ---- megabyte actions ------------------------------------------------------------------------------

JUNK = "lorem ipsum 🙂 中文 <act ion> </acti on> up down\n"


def huge(n: int, middle: str = "") -> str:
    half = (JUNK * (n // (2 * len(JUNK)) + 1))[: n // 2]
    return half + middle + half


HUGE = {
    "x_1mb": "x" * 1_000_000,
    "action_in_1mb_junk": huge(1_000_000, "<action>up</action>"),
    "junk_2mb": huge(2_000_000),
    "opens_2mb": "<action>" * 250_000,
    "opens_then_action": "<action>" * 125_000 + "up</action>",
}


@pytest.mark.parametrize("name", sorted(HUGE))
def test_huge_action_is_rejected_with_its_length(env, name):
    action = HUGE[name]
    env.reset(seed=5)
    info = check_step(env, action)
    assert not info["action_valid"]
    assert f"{len(action):,}" in info["action_error"]
    assert f"{env.unwrapped.action_space.max_length:,}" in info["action_error"]
    check_still_works(env, info)


@pytest.mark.parametrize("name", sorted(HUGE))
def test_huge_action_is_parsed_when_the_limit_allows(env, name):
    """With the length limit raised, a megabyte action is parsed (in linear time) like any other."""
    e = env.unwrapped
    default = e.action_space
    e.action_space = TextSpace(3_000_000)
    try:
        env.reset(seed=5)
        action = HUGE[name]
        info = check_step(env, action)  # compares with the canonical action from the same state
        expected = reference_moves(action, e.moves_per_turn, e.action_space.max_length)
        if name in ("action_in_1mb_junk", "opens_then_action"):
            assert expected == ["up"]
        else:
            assert expected is None and not info["action_valid"]
        check_still_works(env, info)
    finally:
        e.action_space = default


# ---- API misuse raises -----------------------------------------------------------------------------


def test_step_before_reset_raises():
    env = gym.make("densegym/Sokoban-small-v0")
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step("<action>up</action>")
    with pytest.raises(gym.error.ResetNeeded):  # gym.make's OrderEnforcing wrapper says the same first
        env.step("<action>up</action>")
    env.close()


@pytest.mark.parametrize("bad", [None, b"<action>up</action>", 3, ["<action>up</action>"], {"action": "up"}])
def test_non_str_action_raises_type_error_and_consumes_no_turn(env, bad):
    env.reset(seed=2)
    anchor = env.unwrapped.anchor()
    with pytest.raises(TypeError, match="str"):
        env.step(bad)
    assert env.unwrapped.anchor() == anchor and env.unwrapped.turn == 0
    _, _, _, _, info = env.step(env.unwrapped.oracle_action())
    assert info["turn"] == 1 and info["action_valid"]


def test_step_after_terminated_raises(env):
    env.reset(seed=4)
    for _ in range(100):
        _, _, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
        if terminated or truncated:
            break
    assert terminated and info["success"]
    with pytest.raises(RuntimeError, match="reset"):
        env.step("<action>up</action>")
    with pytest.raises(RuntimeError, match="reset"):
        env.step("garbage")  # even an invalid action: the episode is over
    env.reset(seed=4)
    assert env.step(env.unwrapped.oracle_action())[4]["action_valid"]


def test_step_after_truncated_raises():
    env = gym.make("densegym/Sokoban-small-v0", max_turns=2)
    env.reset(seed=0)
    assert env.step("nonsense")[3] is False
    _, _, terminated, truncated, info = env.step("nonsense")
    assert truncated and not terminated and info["success"] is False
    with pytest.raises(RuntimeError, match="reset"):
        env.step("<action>up</action>")
    env.close()
