"""A WebTask for a site of your own: a small to-do app (this file's own, on Python's http.server), wrapped as a
densegym env with a per-step reward read from the app's server-side state and a cheat (oracle).

    pip install 'densegym[web]'   # and a Chromium: apt-get install chromium
    python examples/web_task_todo.py

The task: add the to-do item the instruction names and tick it. ``validate`` pays 0.5 once the item exists and
ends the episode with 1.0 once it is done. ``cheat`` types the item, adds it, then ticks its checkbox.
"""

from __future__ import annotations

import html
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from densegym.envs.web.webtask import PageView, WebTask, WebTaskEnv

CHORES = ("buy milk", "water the plants", "call the bank", "book a dentist", "fix the bike", "pay the rent")


class TodoSite:
    """The site: a list of items, a form to add one, a checkbox per item; ``/state`` for the task's validate."""

    def __init__(self):
        self.items: list[dict] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def send(self, status: int, body: str, kind: str = "text/html", location: str | None = None):
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                if location:
                    self.send_header("location", location)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/state":
                    return self.send(200, json.dumps({"items": site.items}), "application/json")
                rows = "".join(
                    f'<li><form method="post" action="/toggle"><input type="hidden" name="i" value="{i}">'
                    f'<label><input type="checkbox" id="done-{i}" onchange="this.form.submit()"'
                    f'{" checked" if item["done"] else ""}> {html.escape(item["text"])}</label></form></li>'
                    for i, item in enumerate(site.items))
                self.send(200, "<!doctype html><title>To do</title><h1>To do</h1>"
                          '<form method="post" action="/add"><label>New item <input id="new" name="text"></label>'
                          f'<button id="add">Add</button></form><ul>{rows}</ul>')

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers.get("content-length", 0))).decode())
                if self.path == "/add" and form.get("text", [""])[0].strip():
                    site.items.append({"text": form["text"][0].strip()[:200], "done": False})
                elif self.path == "/toggle" and form.get("i", [""])[0].isdigit():
                    i = int(form["i"][0])
                    if i < len(site.items):
                        site.items[i]["done"] = not site.items[i]["done"]
                self.send(303, "", location="/")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TodoTask(WebTask):
    def setup(self, seed: int) -> str:
        self.chore = random.Random(seed).choice(CHORES)
        self.site = TodoSite()  # a fresh site per episode: nothing carries over
        self.start_url = self.site.url
        return f"Add the to-do item '{self.chore}' and tick it as done."

    def server_state(self) -> dict:
        return {"items": [dict(item) for item in self.site.items]}

    def validate(self, page: PageView, state: dict) -> tuple[float, bool, dict]:
        mine = [item for item in state["items"] if item["text"].lower() == self.chore]
        if any(item["done"] for item in mine):
            return 1.0, True, {"added": True, "done": True}
        return (0.5 if mine else 0.0), False, {"added": bool(mine), "done": False}

    def cheat(self, page: PageView, state: dict) -> str | None:
        for i, item in enumerate(state["items"]):
            if item["text"].lower() == self.chore and not item["done"]:
                return f'click("{page.bid_of(f"#done-{i}")}")'
        if page.input_value("#new") != self.chore:
            return f'fill("{page.bid_of("#new")}", "{self.chore}")'
        return f'click("{page.bid_of("#add")}")'

    def teardown(self) -> None:
        self.site.close()


def main() -> None:
    from densegym.envs.web import close_shared

    env = WebTaskEnv(TodoTask)
    try:
        obs, _ = env.reset(seed=0)
        print(obs.split("\n")[0])
        for _ in range(10):
            action = env.oracle_action()
            obs, reward, terminated, truncated, info = env.step(action)
            print(f"{action:45s} reward {reward:+.2f}  {info['reward_components']}")
            if terminated or truncated:
                break
        print("success:", info["success"], "outcome:", info["outcome"])
    finally:
        env.close()
        close_shared()


if __name__ == "__main__":
    main()
