"""Hostile pages (served by the app's lab routes) against the env's browser: nothing reaches another origin (scripts'
fetches, images, styles, beacons, preconnects, web sockets, server-sent events, iframes, redirects, pop-ups, form posts),
dialogs / pop-ups / downloads / file pickers are handled, a page that loops in JavaScript times out and the env
stays usable."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import quote


class Listener:
    """A TCP listener on another loopback port that counts every connection it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/x"
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def step(env, action):
    obs, _, _, _, info = env.step(f"<action>{action}</action>")
    return obs, info


def test_no_request_reaches_another_origin(lab_env):
    env, listener = lab_env, Listener()
    try:
        to = quote(listener.url, safe="")
        obs, info = step(env, f'goto("/lab/fetch?to={to}")')
        assert "was blocked" in obs and info["action_valid"]
        step(env, f'goto("/lab/iframe?to={to}")')
        obs, _ = step(env, f'goto("/lab/redirect?to={to}")')
        assert env.tab.blocked[-1].startswith(listener.url)
        obs, _ = step(env, f'goto("/lab/popup?to={to}")')
        step(env, f'click("{env.tab.bid_of("#open")}")')
        step(env, f'goto("/lab/form?to={to}")')
        step(env, f'click("{env.tab.bid_of("#send")}")')
        step(env, 'goto("/")')  # and the page's later requests have had time to go out
        assert listener.connections == 0
        assert sum(listener.url in u for u in env.tab.blocked) >= 6  # fetch, image, script, css, beacon, iframe...
        assert len(env.context_pages()) == 1  # the pop-ups were closed
    finally:
        listener.close()


def test_dialogs_file_pickers_and_downloads_are_handled(lab_env):
    env = lab_env
    step(env, 'goto("/lab/dialogs")')
    obs, info = step(env, f'click("{env.tab.bid_of("#alert")}")')
    assert "alert dialog said 'hello from the page'; it was dismissed" in obs and info["action_valid"]
    step(env, f'click("{env.tab.bid_of("#confirm")}")')
    assert env.tab.title == "no"
    obs, _ = step(env, f'click("{env.tab.bid_of("#file")}")')
    assert "file picker opened" in obs
    obs, _ = step(env, f'click("{env.tab.bid_of("#download")}")')
    assert "download" in obs.lower()
    assert env.tab.url.endswith("/lab/dialogs")


def test_a_looping_page_times_out_and_the_env_stays_usable(lab_env):
    env = lab_env
    obs, info = step(env, 'goto("/lab/hang")')
    assert "did not respond within 4 s" in info["action_error"] and not info["action_valid"]
    obs, info = step(env, 'goto("/lab/loop")')
    obs, info = step(env, f'click("{env.tab.bid_of("#spin")}")')
    assert "did not respond" in info["action_error"]
    obs, info = step(env, 'goto("/lab/later")')  # it starts looping 300 ms after it has loaded
    assert info["action_valid"] and env.tab.title == "Lab - later"
    time.sleep(0.5)  # not a timing assertion: the page is hung by the time the next action comes
    obs, info = step(env, 'click("1")')
    assert "did not respond within 4 s" in info["action_error"]
    obs, info = step(env, 'goto("/cart")')
    assert info["action_valid"] and "Your cart is empty" in obs
    for _ in range(30):  # and the task can still be solved
        obs, _, terminated, _, info = env.step(env.oracle_action())
        if terminated:
            break
    assert info["outcome"] == 1.0
