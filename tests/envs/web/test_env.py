"""WebShop-v0 with real Chromium and the real app server: the oracle, determinism, isolation, bad input."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from tests.envs.web.conftest import need_web_extra

need_web_extra()

from densegym.envs.web.env import CHECKPOINTS  # noqa: E402


def play_oracle(env, seed, max_steps=30):
    obs, info = env.reset(seed=seed)
    rewards, anchors, infos = [], [info["anchor"]], []
    for _ in range(max_steps):
        obs, reward, terminated, truncated, info = env.step(env.oracle_action())
        rewards.append(reward)
        anchors.append(info["anchor"])
        infos.append(info)
        if terminated or truncated:
            break
    return rewards, anchors, infos, obs


def test_oracle_solves_sampled_tasks_and_reaches_every_checkpoint(make_env):
    env = make_env()
    for seed in (0, 7, 123):
        rewards, _, infos, obs = play_oracle(env, seed)
        last = infos[-1]
        assert last["outcome"] == 1.0 and last["success"] is True, obs[:500]
        assert all(i["action_valid"] for i in infos)
        assert sum(i["reward_components"]["subgoals"] for i in infos) == pytest.approx(1.0)
        assert last["privileged"]["checkpoints"] == dict.fromkeys(CHECKPOINTS, True)
        assert "Order placed (score 1.00)" in obs


def test_oracle_replans_mid_episode(make_env):
    """A wrong item in the cart and a detour first: the oracle still finishes with outcome 1."""
    env = make_env()
    obs, info = env.reset(seed=5)
    goal = env.goal
    wrong = next(p for p in env.catalog.products if p.ptype != goal.ptype)
    env.step(f'<action>goto("/product/{wrong.pid}")</action>')
    for axis, _ in wrong.options:  # choose every option, then add it
        env.step(f'<action>click("{env.tab.bid_of(f"#opt-{axis}-0")}")</action>')
    _, _, _, _, info = env.step(f'<action>click("{env.tab.bid_of("#add-to-cart")}")</action>')
    assert env._state["cart"] and info["action_valid"]
    for _ in range(30):
        obs, _, terminated, truncated, info = env.step(env.oracle_action())
        if terminated or truncated:
            break
    assert info["outcome"] == 1.0, obs[:400]


def test_same_seed_same_rewards(make_env):
    a, b = make_env(), make_env()
    ra, anchors_a, _, _ = play_oracle(a, 11)
    rb, anchors_b, _, _ = play_oracle(b, 11)
    assert ra == rb and anchors_a == anchors_b


def test_two_concurrent_episodes_do_not_share_a_cart(make_env):
    a, b = make_env(), make_env()
    a.reset(seed=1)
    b.reset(seed=1)
    assert a.server is b.server and a.sid != b.sid  # one server, two sessions
    errors = []

    def run(env, steps):
        try:
            for _ in range(steps):
                env.step(env.oracle_action())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    # a goes until its cart holds the item; b only searches, at the same time
    threads = [threading.Thread(target=run, args=(a, 9)), threading.Thread(target=run, args=(b, 4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert a._state["cart"] and b._state["cart"] == []
    _, _, _, _, info = b.step('<action>goto("/cart")</action>')
    assert "Your cart is empty" in b.tab.tree and info["action_valid"]


def test_random_actions_never_crash(make_env):
    env = make_env()
    rng = np.random.default_rng(0)
    for episode in range(2):
        env.reset(seed=episode)
        for _ in range(15):
            obs, reward, terminated, truncated, info = env.step(env.random_action(rng))
            assert isinstance(obs, str) and np.isfinite(reward)
            assert set(info["reward_components"]) == {"subgoals", "format", "outcome"}
            if terminated or truncated:
                break


def test_bad_actions_get_clear_errors_and_change_nothing(make_env):
    env = make_env()
    env.reset(seed=2)
    anchor = env.anchor()
    cases = {
        '<action>click("99999")</action>': "no element has bid '99999'",
        '<action>goto("http://example.com/")</action>': "goto only reaches this site",
        '<action>goto("/__dg/state/x")</action>': "goto only reaches this site",
        "<action>teleport()</action>": "unknown action",
        "no block at all": "no <action>",
        f'<action>fill("13", "{"x" * 10_000}")</action>': "at most 4,096",
        f'<action>fill("13", "{"x" * 1_000_000}")</action>': "characters long; at most",
    }
    for action, words in cases.items():
        obs, reward, terminated, _, info = env.step(action)
        assert not info["action_valid"] and words in info["action_error"], info["action_error"]
        assert info["reward_components"]["format"] == -1.0 and not terminated
        assert env.anchor() == anchor
    # an element that cannot take text: Playwright's error is reported, and the env goes on
    nav = env.tab.bid_of("#nav-home")
    _, _, _, _, info = env.step(f'<action>fill("{nav}", "x")</action>')
    assert not info["action_valid"] and info["action_error"]
    _, _, _, _, info = env.step('<action>goto("/cart")</action>')
    assert info["action_valid"] and env.tab.title == "Shop - Cart"


def test_server_state_needs_the_secret(make_env):
    env = make_env()
    env.reset(seed=3)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{env.server.origin}/__dg/state/{env.sid}", timeout=5)
    assert err.value.code == 403
    assert env.server.state(env.sid)["cart"] == []


def test_observation_has_url_title_error_and_bids(make_env):
    env = make_env()
    obs, _ = env.reset(seed=4)
    assert env.goal.instruction in obs
    assert f"URL: {env.server.origin}/" in obs and "Title: Shop - Home" in obs and "Last action error: none" in obs
    bid = env.tab.bid_of("#search-go")
    assert f"[{bid}] button 'Search'" in obs
    env.step('<action>scroll(0, 200)</action>')
    assert env.tab.bid_of("#search-go") == bid  # bids are stable on a page


def test_rgb_array_is_a_screenshot_of_the_page(make_env):
    env = make_env(render_mode="rgb_array")
    env.reset(seed=4)
    frame = env.render()
    assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
    assert frame.min() < 100 and frame.max() > 200  # text on a white page, not a blank frame


def test_a_browser_that_dies_is_replaced_and_the_episode_goes_on(make_env):
    import os
    import signal

    from densegym.envs.web.env import browser_host

    env = make_env()
    env.reset(seed=6)
    for _ in range(5):  # into the search results, with the session's state on the server
        env.step(env.oracle_action())
    assert env._state["searches"]
    old = browser_host()
    for group in old.process_groups:
        os.killpg(group, signal.SIGKILL)
    obs, _, _, _, info = env.step('<action>scroll(0, 100)</action>')
    assert "browser" in obs and browser_host() is not old and browser_host().connected
    assert env._state["searches"]  # the session survived
    for _ in range(30):
        obs, _, terminated, truncated, info = env.step(env.oracle_action())
        if terminated or truncated:
            break
    assert info["outcome"] == 1.0
