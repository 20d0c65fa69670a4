"""``densegym/WebShop-v0``: shop in a real browser on a bundled web app, with per-step subgoal rewards."""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import numpy as np

from densegym import resources
from densegym.envs.base import ActionError, StepOutcome, TextEnv, extract_tag, squash
from densegym.envs.web import actions as A
from densegym.envs.web.browser import BrowserHost, Tab
from densegym.envs.web.catalog import PRICE_CAPS, Catalog, ShopGoal, generate, make_goal, matches, parse_task_id, score
from densegym.envs.web.server import AppServer
from densegym.rewards import RewardSet, format_reward, outcome_reward, progress_reward

CHECKPOINTS = ("searched", "filtered", "viewed", "options", "in_cart", "purchased")
_BID = re.compile(r"^\s*\[([A-Za-z0-9_-]+)\]", re.M)


def browser_host() -> BrowserHost:
    """This process's browser (launched on first use; a crashed one is replaced)."""
    host = resources.shared("web.browser", BrowserHost)
    if not host.connected:
        resources.close("web.browser")
        host = resources.shared("web.browser", BrowserHost)
    return host


def app_server(seed: int, size: int, lab: bool = False) -> AppServer:
    """This process's app server for a catalog (started on first use; a dead one is replaced)."""
    key = ("web.server", int(seed), int(size), bool(lab))
    server = resources.shared(key, lambda: AppServer(seed, size, lab))
    if not server.alive:
        resources.close(key)
        server = resources.shared(key, lambda: AppServer(seed, size, lab))
    return server


def close_shared() -> None:
    """Close this process's browser and app servers now (they are closed at process exit anyway)."""
    for key in resources.shared_keys():
        if key == "web.browser" or (isinstance(key, tuple) and key and key[0] == "web.server"):
            resources.close(key)


class ShopView(NamedTuple):
    """What the reward hooks see: the page (path and query, without the origin) and the server-side facts."""

    path: str
    searched: bool
    filtered: bool
    viewed: bool
    options: bool
    in_cart: bool
    purchased: bool
    cart: tuple[tuple[int, tuple[tuple[str, str], ...]], ...]
    orders: int

    @property
    def progress(self) -> float:
        return sum(getattr(self, c) for c in CHECKPOINTS) / len(CHECKPOINTS)


def checkpoints(goal: ShopGoal, catalog: Catalog, state: dict) -> dict[str, bool]:
    """The oracle's checkpoints, read from the server's session state (never from the page)."""

    def good(pid: int) -> bool:
        p = catalog.get(int(pid))
        return p is not None and matches(goal, p)

    def good_item(item: dict) -> bool:
        return good(item["pid"]) and all(item["options"].get(a) == v for a, v in goal.options)

    searches = [s for s in state.get("searches", ()) if any(good(pid) for pid in s["results"])]
    purchased = any(good_item(i) for order in state.get("orders", ()) for i in order)
    selected = state.get("selected", {})
    return {
        "searched": bool(searches),
        "filtered": any(s["category"] or s["attr"] or s["max_price"] is not None for s in searches),
        "viewed": any(good(pid) for pid in state.get("viewed", ())),
        "options": any(good(pid) and all(opts.get(a) == v for a, v in goal.options) for pid, opts in selected.items()),
        "in_cart": any(good_item(i) for i in state.get("cart", ())) or purchased,
        "purchased": purchased,
    }


def order_score(goal: ShopGoal, catalog: Catalog, order: list[dict]) -> float:
    """A placed order's WebShop score: its best item's."""
    return max((score(goal, catalog.get(i["pid"]), i["options"]) for i in order), default=0.0)


class BrowserEnv(TextEnv):
    """What the web envs share: a session on the worker's app server, a context in the worker's browser,
    BrowserGym's actions, the observation, and the episode's end when the app says so. A subclass names its
    start page and prompt (:meth:`intro`) and reads the end of its task from the server state (:meth:`finished`)."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    has_oracle = True
    default_max_turns = 30
    start_path = "/"
    stop_message = "You stopped."

    def __init__(self, action_timeout_s: float = 5.0, step_timeout_s: float = 15.0, lab: bool = False,
                 server_catalog: tuple[int, int] = (0, 1200), **kwargs: Any):
        self.action_timeout_s, self.step_timeout_s, self.lab = float(action_timeout_s), float(step_timeout_s), bool(lab)
        self.server_catalog = (int(server_catalog[0]), int(server_catalog[1]))
        kwargs.setdefault("max_observation_chars", 32_768)
        super().__init__(**kwargs)
        self.goal: Any = None
        self.tab: Tab | None = None
        self.server: AppServer | None = None
        self.sid: str | None = None
        self._state: dict = {}
        self._error: str | None = None

    def default_rewards(self) -> RewardSet:
        """``subgoals`` (a potential: the state view's ``progress``), ``format`` and ``outcome``."""
        return RewardSet({
            "subgoals": (progress_reward(lambda v: v.progress), 1.0),
            "format": (format_reward(), 0.1),
            "outcome": (outcome_reward(), 1.0),
        })

    # ---- a subclass's part ------------------------------------------------------------------------------------
    def intro(self, task: Any) -> str:
        """The prompt's first lines: what to do."""
        raise NotImplementedError

    def finished(self, before: dict, after: dict) -> tuple[str, float] | None:
        """``(message, outcome)`` when the step that took the server state from ``before`` to ``after`` ended the
        task (an order placed, a form submitted), else None."""
        raise NotImplementedError

    def read_state(self) -> dict:
        """The app's server-side state of this episode (the session's, for the bundled apps)."""
        return self.server.state(self.sid)

    # ---- the episode -------------------------------------------------------------------------------------------
    def _end_episode(self) -> None:
        if self.tab is not None:
            self.tab.close()
            self.tab = None
        if self.server is not None and self.sid is not None:
            self.server.end_session(self.sid)
        self.sid = None

    def start(self, task: Any) -> str:
        self._end_episode()
        self.goal = task
        self.server = app_server(*self.server_catalog, self.lab)
        host = browser_host()
        self.sid = self.server.new_session()
        self.tab = Tab(host, self.server.origin, {"dg_sid": self.sid}, self.action_timeout_s, self.step_timeout_s)
        self.tab.open(self.start_path)
        self._state = self.read_state()
        self._error = None
        return self.intro(task) + "\n" + A.ACTION_HELP + "\n\n" + self.observation_text()

    def _reopen(self, note: str | None) -> None:
        """A new context in a new browser (the server-side session is kept) at the last page that worked."""
        old = self.tab
        try:
            old.close()
        except Exception:
            pass
        self.tab = Tab(browser_host(), old.origin, old.cookies, self.action_timeout_s, self.step_timeout_s,
                       guard_proxy=old.guard_proxy)
        parts = urlsplit(old.last_good_url)
        self.tab.open((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        if note:
            self.tab.events.append(note)

    def observation_text(self) -> str:
        tab = self.tab
        events = "".join(f"\nNote: {e}" for e in tab.events[:8])
        return (f"URL: {tab.url}\nTitle: {tab.title}\nLast action error: {self._error or 'none'}{events}\n"
                f"Accessibility tree:\n{tab.tree}")

    def action_help(self) -> str:
        return A.ACTION_HELP

    def parse_action(self, text: str) -> A.Action:
        body = extract_tag(text, self.action_tag)
        if body is None:
            raise ActionError("no <action>...</action> block")
        return A.parse(body)

    def apply_action(self, action: A.Action) -> StepOutcome:
        tab = self.tab
        if action.name == "stop":
            return StepOutcome(self.stop_message, terminated=True, success=False, outcome=0.0)
        if action.name == "send_msg_to_user":
            self._error = None
            return StepOutcome(f"Message sent: {action.args[0][:200]!r}\n\n" + self.observation_text())
        if not tab.host.connected:  # the browser died (crashed, killed) since the last step
            self._reopen("the browser had stopped; a new one was started")
            tab = self.tab
        tab.check(action)
        before = self._state
        try:
            self._error = tab.act(action)
        except Exception as exc:
            if tab.host.connected:
                raise
            self._error = squash(str(exc), 120)
        if not tab.host.connected:  # it died during the action: Playwright's errors say little more
            self._error = f"the browser stopped during the action ({self._error}); a new one was started"
            self._reopen(None)
        self._state = self.read_state()
        obs = self.observation_text()
        info: dict[str, Any] = {"url_path": self._path()}
        if self._error is not None:
            info.update(action_valid=False, action_error=self._error)
        ended = self.finished(before, self._state)
        if ended is not None:
            message, result = ended
            return StepOutcome(f"{message}\n\n" + obs, terminated=True, success=result >= 1.0, outcome=result,
                               info=info)
        return StepOutcome(obs, info=info)

    def _path(self) -> str:
        if self.tab is None or not self.tab.url:
            return ""
        parts = urlsplit(self.tab.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def anchor(self) -> str:
        return repr(self.state_view())

    def render_text(self) -> str:
        return self.observation_text() if self.tab is not None else ""

    def render(self) -> Any:
        if self.render_mode == "rgb_array":
            return self.screenshot()
        return super().render()

    def screenshot(self) -> np.ndarray:
        """The page as an ``(height, width, 3)`` uint8 array (needs Pillow: ``pip install 'densegym[web]'``)."""
        try:
            from PIL import Image
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("render_mode='rgb_array' needs Pillow: pip install 'densegym[web]'") from exc
        import io

        if self.tab is None:
            raise RuntimeError("no page yet: call reset() first")
        with Image.open(io.BytesIO(self.tab.screenshot())) as img:
            return np.asarray(img.convert("RGB"))

    def close(self) -> None:
        self._end_episode()
        super().close()

    def random_action(self, rng: np.random.Generator) -> str:
        bids = _BID.findall(self.tab.tree) if self.tab is not None else []
        kind = rng.choice(["click", "click", "click", "fill", "select", "press", "scroll", "back", "goto", "junk"])
        bid = str(rng.choice(bids)) if bids else "0"
        if kind == "click":
            act = f'click("{bid}")'
        elif kind == "fill":
            act = f'fill("{bid}", "{rng.choice(["tea", "red shoes", "", "x" * 50])}")'
        elif kind == "select":
            act = f'select_option("{bid}", "{rng.choice(["beauty", "$25", "vegan", "nope"])}")'
        elif kind == "press":
            act = f'press("{bid}", "{rng.choice(["Enter", "Tab", "Escape"])}")'
        elif kind == "scroll":
            act = f"scroll(0, {int(rng.integers(-500, 500))})"
        elif kind == "back":
            act = "go_back()"
        elif kind == "goto":
            act = f'goto("{rng.choice(["/", "/cart", "/search?q=tea", "http://example.com/", "/checkout", "/forms"])}")'
        else:
            act = rng.choice(["click(", "fill(1)", "teleport()", "click('99999')", ""])
        return f"<action>{act}</action>"

    def context_pages(self) -> list[str]:
        """The URLs of the episode's open pages (one: pop-ups are closed)."""
        return [p.url for p in self.tab.context.pages] if self.tab is not None and self.tab.context else []

    def _click(self, selector: str) -> str | None:
        """``click("bid")`` of the first element matching a CSS selector, None when there is none."""
        bid = self.tab.bid_of(selector)
        return f'click("{bid}")' if bid is not None else None

class WebShopEnv(BrowserEnv):
    """Buy what an instruction asks for in a web shop, in a real browser (Chromium through Playwright).

    ## Description

    A WebShop-like app (search ranked by BM25, category / feature / price filters, product pages with options,
    cart, checkout) over a generated SQLite catalog of ``catalog_size`` products (1,200 by default), served by
    uvicorn on 127.0.0.1 in a background process shared by the worker's envs; each episode has its own session,
    browser context and cart. A task is a WebShop-style instruction: a product type, one or two features, one
    value per option axis and a price limit (``shop:CATALOG_SEED:SIZE:TASK_SEED`` ids reproduce it).

    ## Actions

    BrowserGym's high-level syntax in the last ``<action>`` block: ``click("bid")``, ``fill("bid", "text")``,
    ``select_option("bid", "option")``, ``press("bid", "Enter")``, ``scroll(dx, dy)``, ``hover("bid")``,
    ``go_back()``, ``goto("/path")`` (this site only), ``send_msg_to_user("text")``, ``noop()``, ``stop()``.
    A malformed action, an unknown bid or a URL elsewhere is refused before anything changes.

    ## Observations

    The page's URL, title, the last action's error, what the page tried (blocked requests, dialogs, pop-ups,
    downloads) and Chromium's accessibility tree as text with stable bids (``[12] button 'Add to cart'``).

    ## Rewards

    | component | meaning | range | default weight |
    |---|---|---|---|
    | ``subgoals`` | potential-based change of the share of checkpoints reached, read from the server's session: a search that shows a matching product, the same with a filter applied, a matching product viewed, its options chosen, it in the cart with them (or bought), it purchased | ``[-1, 1]`` | 1.0 |
    | ``format`` | 0 for an action that parsed and applied, -1 otherwise | ``{-1, 0}`` | 0.1 |
    | ``outcome`` | WebShop's score of the order placed (attributes, options, price and type matched), 0 without one | ``[0, 1]`` | 1.0 |

    ## Starting state

    The shop's home page in a fresh browser context with an empty cart.

    ## Episode end

    Terminates when an order is placed (``success`` when it scores 1) or on ``stop()``; truncates at
    ``max_turns`` (30).

    ## Arguments

    ``catalog_seed`` (0), ``catalog_size`` (1200), ``action_timeout_s`` (5: Playwright's limit for one
    operation), ``step_timeout_s`` (15: one step, after which a hung page is closed and reopened), ``lab``
    (False: also serve the safety tests' hostile pages under ``/lab``).

    ## Version history

    * v0: initial version.
    """

    start_path = "/"
    stop_message = "You stopped without placing an order."

    def __init__(self, catalog_seed: int = 0, catalog_size: int = 1200, **kwargs: Any):
        self.catalog_seed, self.catalog_size = int(catalog_seed), int(catalog_size)
        if self.catalog_size < 10:
            raise ValueError(f"catalog_size must be at least 10, got {catalog_size}")
        super().__init__(server_catalog=(self.catalog_seed, self.catalog_size), **kwargs)
        self.catalog = generate(self.catalog_seed, self.catalog_size)

    def sample_task(self, rng: np.random.Generator) -> ShopGoal:
        return make_goal(self.catalog, int(rng.integers(0, 10**6)))

    def resolve_task(self, spec: Any) -> ShopGoal:
        if isinstance(spec, ShopGoal):
            return spec
        if isinstance(spec, (int, np.integer)):
            return make_goal(self.catalog, int(spec))
        seed, size, task_seed = parse_task_id(str(spec))
        if (seed, size) != (self.catalog_seed, self.catalog_size):
            raise ValueError(f"task {spec!r} is for catalog ({seed}, {size}); this env serves "
                             f"({self.catalog_seed}, {self.catalog_size})")
        return make_goal(self.catalog, task_seed)

    def task_id(self, task: ShopGoal) -> str:
        return task.task_id

    def intro(self, task: ShopGoal) -> str:
        return (f"You are shopping on a website in a web browser.\nInstruction: {task.instruction}\n"
                "Find a product that matches, choose its options, add it to the cart and place the order; the "
                "episode ends when an order is placed.")

    def finished(self, before: dict, after: dict) -> tuple[str, float] | None:
        orders = after.get("orders", ())
        if len(orders) > len(before.get("orders", ())):
            result = order_score(self.goal, self.catalog, orders[-1])
            return f"Order placed (score {result:.2f}).", result
        return None

    def state_view(self) -> ShopView:
        cps = checkpoints(self.goal, self.catalog, self._state) if self.goal else dict.fromkeys(CHECKPOINTS, False)
        cart = tuple((int(i["pid"]), tuple(sorted(i["options"].items()))) for i in self._state.get("cart", ()))
        return ShopView(self._path(), *(cps[c] for c in CHECKPOINTS), cart, len(self._state.get("orders", ())))

    def privileged(self) -> dict[str, Any] | None:
        if self.goal is None:
            return None
        view = self.state_view()
        return {"target": self.goal.target, "checkpoints": {c: getattr(view, c) for c in CHECKPOINTS},
                "matching": [p.pid for p in self.catalog.products if matches(self.goal, p)][:50]}

    def oracle_action(self) -> str:
        return f"<action>{self._oracle()}</action>"

    def _oracle(self) -> str:
        goal, tab, catalog = self.goal, self.tab, self.catalog
        path = urlsplit(tab.url).path

        def good_item(item: dict) -> bool:
            p = catalog.get(item["pid"])
            return p is not None and matches(goal, p) and all(item["options"].get(a) == v for a, v in goal.options)

        click = self._click
        home = click("#nav-home") or 'goto("/")'
        cart = self._state.get("cart", [])
        bad = [i for i, item in enumerate(cart) if not good_item(item)]
        if bad:
            return (click(f"#remove-{bad[0]}") if path == "/cart" else None) or click("#nav-cart") or 'goto("/cart")'
        if cart:
            if path == "/checkout":
                return click("#place-order") or home
            if path == "/cart":
                return click("#checkout") or home
            return click("#nav-cart") or 'goto("/cart")'
        m = re.fullmatch(r"/product/(\d+)", path)
        if m and (p := catalog.get(int(m.group(1)))) is not None and matches(goal, p):
            chosen = self._state.get("selected", {}).get(str(p.pid), {})
            for axis, value in goal.options:
                if chosen.get(axis) != value:
                    return click(f"#opt-{axis}-{p.option_values(axis).index(value)}") or home
            return click("#add-to-cart") or home
        if tab.bid_of("#search-q") is None:
            return home
        want = {"#search-q": goal.query, "#filter-category": goal.category, "#filter-attr": goal.attributes[0],
                "#filter-price": next((str(c) for c in PRICE_CAPS if c >= goal.price_limit), "")}
        have = {sel: tab.input_value(sel) for sel in want}
        if have == want and path == "/search":
            for pid in self._pids_on_page():
                if matches(goal, catalog.get(pid)):
                    return click(f'a[data-pid="{pid}"]')
            nxt = click("#next-page")
            if nxt:
                return nxt
        for sel, value in want.items():
            if have[sel] != value:
                bid = tab.bid_of(sel)
                if sel == "#search-q":
                    return f'fill("{bid}", "{value}")'
                label = next((f"${c}" for c in PRICE_CAPS if str(c) == value), "Any price") if sel == "#filter-price" else value
                return f'select_option("{bid}", "{label}")'
        return click("#search-go") or home

    def _pids_on_page(self) -> list[int]:
        tab = self.tab

        async def read() -> list[int]:
            return [int(x) for x in await tab.page.locator("a[data-pid]").evaluate_all(
                "els => els.map(e => e.getAttribute('data-pid'))")]

        return tab.host.run(read(), tab.step_timeout_s)
