"""After an action the env waits for the page to settle (no fetch / XHR in flight, the DOM quiet a moment), within a
time limit: a click that fetches and then renders is observed with what it rendered; a page that never settles is
observed as it is, and the env stays usable."""

from __future__ import annotations


def step(env, action):
    obs, _, _, _, info = env.step(f"<action>{action}</action>")
    return obs, info


def test_a_fetch_and_its_render_are_in_the_next_observation(lab_env):
    env = lab_env
    obs, info = step(env, 'goto("/lab/fetch-render")')
    assert info["action_valid"] and "loaded after" not in obs
    obs, info = step(env, f'click("{env.tab.bid_of("#load")}")')  # the JSON comes 400 ms after the click
    assert info["action_valid"] and "loaded after 400 ms" in env.tab.tree and "loaded after 400 ms" in obs


def test_a_page_that_never_settles_is_observed_and_the_env_stays_usable(lab_env):
    env = lab_env
    obs, info = step(env, 'goto("/lab/ticker")')  # a timer changes the page every 20 ms
    assert info["action_valid"] and env.tab.title == "Lab - ticker" and "Press" in obs
    obs, info = step(env, f'click("{env.tab.bid_of("#press")}")')
    assert info["action_valid"] and env.tab.title == "pressed"
    obs, info = step(env, 'goto("/cart")')
    assert info["action_valid"] and "Your cart is empty" in obs
