"""RewardSet: overrides, weighted sums, user hooks through gym.make; potential-based progress telescopes."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import densegym  # noqa: F401 - registers the ids
from densegym.rewards import FormatReward, OutcomeReward, PotentialProgress, RewardSet, Transition

SOKOBAN_COMPONENTS = ["progress", "optimal", "deadlock", "format", "outcome"]


def const(value):
    return lambda t: value


def transition(before=None, after=None, valid=True, **info) -> Transition:
    """A toy transition (no env: the hooks under test only read states and info)."""
    return Transition(None, before, "<action>x</action>", "x" if valid else None, after,
                      {"action_valid": valid, **info}, False)


@pytest.fixture
def base():
    return RewardSet({"a": (const(2.0), 1.0), "b": (const(-3.0), 0.5)})


def test_weights_change_and_copy(base):
    changed = base.with_overrides({"b": 2.0, "a": 0})
    assert changed.weights == {"a": 0.0, "b": 2.0}
    assert base.weights == {"a": 1.0, "b": 0.5}  # the original is untouched
    assert base.with_overrides(None).weights == base.weights
    assert base.with_overrides({}).weights == base.weights
    assert changed["a"][0] is base["a"][0]  # a weight override keeps the hook


def test_unknown_name_lists_known(base):
    with pytest.raises(ValueError) as err:
        base.with_overrides({"progres": 1.0})
    message = str(err.value)
    assert "'progres'" in message
    assert "known components: a, b" in message


def test_unknown_name_through_gym_make():
    with pytest.raises(ValueError) as err:
        gym.make("densegym/Sokoban-small-v0", rewards={"progres": 1.0})
    assert all(name in str(err.value) for name in SOKOBAN_COMPONENTS)


def test_adding_hooks(base):
    def mine(t):
        return 7.0

    added = base.with_overrides({"mine": (mine, 0.25), "bare": const(1.5), "a": (const(10.0), 3)})
    assert list(added) == ["a", "b", "mine", "bare"]  # order: existing first, then new in spec order
    assert added.weights == {"a": 3.0, "b": 0.5, "mine": 0.25, "bare": 1.0}
    assert added["mine"][0] is mine
    total, components = added.compute(transition())
    assert components == {"a": 10.0, "b": -3.0, "mine": 7.0, "bare": 1.5}
    assert total == pytest.approx(3 * 10.0 + 0.5 * -3.0 + 0.25 * 7.0 + 1.5)


@pytest.mark.parametrize(
    "spec",
    [
        "1.0",  # a string is not a weight
        True,  # nor is a bool
        None,
        [const(1.0), 1.0],  # a list is not (hook, weight)
        (const(1.0),),
        (const(1.0), 1.0, 2.0),
        (1.0, const(1.0)),  # swapped
        ("not callable", 1.0),
        (const(1.0), "heavy"),
    ],
)
def test_bad_specs_raise(base, spec):
    with pytest.raises((ValueError, TypeError)):
        base.with_overrides({"a": spec})
    with pytest.raises((ValueError, TypeError)):
        base.with_overrides({"new": spec})


def test_compute_is_weighted_sum_of_unweighted_components(base):
    total, components = base.compute(transition())
    assert components == {"a": 2.0, "b": -3.0}
    assert total == 1.0 * 2.0 + 0.5 * -3.0
    zero = base.with_overrides({"a": 0.0, "b": 0.0})
    assert zero.compute(transition()) == (0.0, {"a": 2.0, "b": -3.0})  # zero weight, still reported


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_non_finite_hook_value_raises(base, bad):
    rs = base.with_overrides({"bad": (const(bad), 0.0)})  # even at weight 0
    with pytest.raises(ValueError, match="bad"):
        rs.compute(transition())


def test_generic_hooks():
    fmt, out = FormatReward(0.5, -2.0), OutcomeReward()
    assert fmt(transition(valid=True)) == 0.5 and fmt(transition(valid=False)) == -2.0
    assert fmt.range == (-2.0, 0.5)
    assert out(transition()) == 0.0 and out(transition(outcome=0.75)) == 0.75


# ---- potential-based progress ----------------------------------------------------------------------


def test_potential_progress_telescopes_on_toy_potential():
    phi = {"s0": -4.0, "s1": -2.5, "s2": -3.0, "s3": 0.0, "s4": -1.25}
    hook = PotentialProgress(phi.__getitem__)
    path = ["s0", "s1", "s2", "s1", "s0", "s1", "s3", "s4", "s3"]
    rewards = [hook(transition(a, b)) for a, b in zip(path, path[1:])]
    assert rewards[0] == 1.5 and rewards[1] == -0.5
    assert sum(rewards) == pytest.approx(phi[path[-1]] - phi[path[0]])
    # going back and forth earns exactly nothing
    assert hook(transition("s1", "s2")) + hook(transition("s2", "s1")) == 0.0
    # every prefix telescopes too
    for k in range(1, len(path)):
        assert sum(rewards[:k]) == pytest.approx(phi[path[k]] - phi[path[0]])


def test_potential_progress_invalid_and_gamma():
    phi = {"a": -1.0, "b": -0.5}
    assert PotentialProgress(phi.__getitem__)(transition("a", "b", valid=False)) == 0.0
    discounted = PotentialProgress(phi.__getitem__, gamma=0.9)
    assert discounted(transition("a", "b")) == pytest.approx(0.9 * -0.5 - -1.0)


# ---- through gym.make ------------------------------------------------------------------------------


def test_user_hook_through_gym_make_every_step():
    calls = []

    def mine(t: Transition) -> float:
        calls.append(t)
        # read-only use of what the hook is given: 1 for a valid turn that pushed towards the goal
        return 1.0 if t.valid and t.after.distance < t.before.distance else (0.5 if t.valid else -0.5)

    weights = {"progress": 0.7, "optimal": 0.3, "deadlock": 0.2, "format": 0.05, "outcome": 2.0}
    env = gym.make("densegym/Sokoban-small-v0", rewards={**weights, "mine": (mine, 0.4), "flat": const(0.125)})
    agent_rng = np.random.default_rng(0)
    expected_weights = {**weights, "mine": 0.4, "flat": 1.0}
    steps = 0
    seen_valid = seen_invalid = seen_positive = False
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        assert info["reward_weights"] == expected_weights
        done, t = False, 0
        while not done:
            t += 1
            if t % 5 == 0:
                action = "no action here"
            elif t % 3 == 0:
                action = env.unwrapped.random_action(agent_rng)
            else:
                action = env.unwrapped.oracle_action()
            obs, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            steps += 1
            comps = info["reward_components"]
            assert list(comps) == SOKOBAN_COMPONENTS + ["mine", "flat"]
            assert info["reward_weights"] == expected_weights
            assert comps["flat"] == 0.125
            assert reward == pytest.approx(sum(expected_weights[k] * v for k, v in comps.items()), abs=1e-12)
            assert calls[-1].env is env.unwrapped and calls[-1].action == action
            assert comps["mine"] == (1.0 if calls[-1].valid and calls[-1].after.distance < calls[-1].before.distance
                                     else (0.5 if calls[-1].valid else -0.5))
            assert calls[-1].valid == info["action_valid"]
            seen_valid |= info["action_valid"]
            seen_invalid |= not info["action_valid"]
            seen_positive |= comps["mine"] == 1.0
    assert len(calls) == steps  # exactly one call per step
    assert seen_valid and seen_invalid and seen_positive
    env.close()


def test_default_weights_scalar_reward():
    env = gym.make("densegym/Sokoban-small-v0")
    env.reset(seed=1)
    weights = env.unwrapped.rewards.weights
    for action in ["junk", env.unwrapped.oracle_action(), "<action>left</action>"]:
        _, reward, _, _, info = env.step(action)
        assert info["reward_weights"] == weights
        assert reward == pytest.approx(sum(weights[k] * v for k, v in info["reward_components"].items()))
    env.close()
