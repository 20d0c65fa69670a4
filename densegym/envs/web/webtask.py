"""``WebTask``: BrowserGym's task protocol for a site of your own, run by :class:`WebTaskEnv` in the worker's
browser with the same actions, observations and safety as the bundled apps.

A task object lives for one episode::

    class MyTask(WebTask):
        def setup(self, seed):            # start or reset the site, return the instruction
            ...; self.start_url = "http://127.0.0.1:8123/"; return "Add a todo 'buy milk' and tick it."
        def server_state(self):           # what the site's server knows (read it your own way), or {}
            return json.load(urlopen(self.start_url + "state"))
        def validate(self, page, state):  # after every step: (reward, done, info)
            return (1.0, True, {}) if state["done"] else (0.0, False, {})
        def cheat(self, page, state):     # optional: an oracle action, e.g. 'click("12")'
            return f'click("{page.bid_of("#add")}")'
        def teardown(self):               # stop what setup started
            ...

    env = WebTaskEnv(MyTask)              # a fresh MyTask() per episode

``page`` is a read-only :class:`PageView` of the current page (URL, title, accessibility tree, HTML, bids and
input values by CSS selector), not Playwright's page: validation runs on the env's thread and cannot act.
Requests to any origin but ``start_url``'s are aborted.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple
from urllib.parse import urlsplit

import numpy as np

from densegym.envs.base import StepOutcome
from densegym.envs.web import actions as A
from densegym.envs.web.browser import Tab
from densegym.envs.web.env import BrowserEnv, browser_host
from densegym.rewards import RewardHook, RewardSet, Transition, format_reward, outcome_reward


class PageView:
    """What ``validate`` and ``cheat`` see of the page: read-only."""

    def __init__(self, tab: Tab):
        self._tab = tab

    @property
    def url(self) -> str:
        return self._tab.url

    @property
    def title(self) -> str:
        return self._tab.title

    @property
    def tree(self) -> str:
        """The accessibility tree with bids, as the agent sees it."""
        return self._tab.tree

    def content(self) -> str:
        return self._tab.content()

    def bid_of(self, selector: str) -> str | None:
        return self._tab.bid_of(selector)

    def input_value(self, selector: str) -> str | None:
        return self._tab.input_value(selector)


class WebTask:
    """One episode's task on a site of your own (BrowserGym's protocol). Override ``setup`` and ``validate``;
    ``server_state``, ``cheat`` and ``teardown`` are optional."""

    start_url: str = ""

    def setup(self, seed: int) -> str:
        """Start or reset the site for this episode, set ``start_url`` (``http://HOST:PORT/path``), and return
        the instruction shown to the agent."""
        raise NotImplementedError

    def server_state(self) -> dict:
        """The site's server-side state for ``validate`` (JSON-like); default: nothing."""
        return {}

    def validate(self, page: PageView, state: dict) -> tuple[float, bool, dict]:
        """After every step: ``(reward, done, info)``; ``info`` must be JSON-serialisable."""
        raise NotImplementedError

    def cheat(self, page: PageView, state: dict) -> str | None:
        """An oracle action (``click("12")``...), or None when the task has no oracle."""
        return None

    def teardown(self) -> None:
        """Stop what ``setup`` started."""


class TaskView(NamedTuple):
    path: str
    reward: float
    done: bool


class TaskReward(RewardHook):
    """``validate``'s reward on every step but the last (where it is the ``outcome``)."""

    description = "the WebTask's validate() reward on the steps before the end"
    range = (-1.0, 1.0)
    farmable = True  # validate() judges a state: a reward it pays for standing still is paid again every step

    def __call__(self, t: Transition) -> float:
        return 0.0 if t.terminated else float(t.info.get("task_reward", 0.0))


class WebTaskEnv(BrowserEnv):
    """A :class:`WebTask` in a real browser (Chromium through Playwright).

    ## Description

    Each episode makes a fresh task with ``task_factory()``, calls its ``setup(seed)``, opens a fresh browser
    context at its ``start_url`` and, after every step, calls ``validate(page, server_state())``. ``teardown``
    runs when the episode is replaced or the env closes.

    ## Actions and observations

    As ``densegym/WebShop-v0``: BrowserGym's actions in the last ``<action>`` block; the URL, title, last
    action's error, notes and the accessibility tree with bids.

    ## Rewards

    | component | meaning | range | default weight |
    |---|---|---|---|
    | ``task`` | ``validate``'s reward, on every step before the last | as the task's | 1.0 |
    | ``format`` | 0 for an action that parsed and applied, -1 otherwise | ``{-1, 0}`` | 0.1 |
    | ``outcome`` | ``validate``'s reward on the step where it says ``done`` (0 on ``stop()``) | as the task's | 1.0 |

    ## Episode end

    Terminates when ``validate`` says done (``success`` when its reward is at least 1) or on ``stop()``;
    truncates at ``max_turns`` (30).

    ## Arguments

    ``task_factory`` (a ``WebTask`` subclass or any zero-argument callable that returns one),
    ``action_timeout_s`` (5), ``step_timeout_s`` (15).

    ## Version history

    * v0: initial version.
    """

    def __init__(self, task_factory: Callable[[], WebTask], **kwargs: Any):
        self.task_factory = task_factory
        self.web_task: WebTask | None = None
        self._validation: tuple[float, bool, dict] = (0.0, False, {})
        super().__init__(**kwargs)

    def default_rewards(self) -> RewardSet:
        return RewardSet({"task": (TaskReward(), 1.0), "format": (format_reward(), 0.1),
                          "outcome": (outcome_reward(), 1.0)})

    def sample_task(self, rng: np.random.Generator) -> int:
        return int(rng.integers(0, 2**31 - 1))

    def resolve_task(self, spec: Any) -> int:
        return int(spec)

    def _end_episode(self) -> None:
        super()._end_episode()
        if self.web_task is not None:
            task, self.web_task = self.web_task, None
            task.teardown()

    def start(self, task: int) -> str:
        self._end_episode()
        self.goal = task
        self.web_task = web_task = self.task_factory()
        instruction = web_task.setup(task)
        parts = urlsplit(web_task.start_url)
        if parts.scheme != "http" or not parts.netloc:
            raise ValueError(f"WebTask.start_url must be http://HOST:PORT/..., got {web_task.start_url!r}")
        self.tab = Tab(browser_host(), f"{parts.scheme}://{parts.netloc}", {}, self.action_timeout_s,
                       self.step_timeout_s, guard_proxy=False)
        self.tab.open(parts.path + (f"?{parts.query}" if parts.query else "") or "/")
        self._state = self.read_state()
        self._validation = web_task.validate(PageView(self.tab), self._state)
        self._error = None
        return f"Instruction: {instruction}\n" + A.ACTION_HELP + "\n\n" + self.observation_text()

    def read_state(self) -> dict:
        return self.web_task.server_state()

    def finished(self, before: dict, after: dict) -> tuple[str, float] | None:
        return None

    def apply_action(self, action: A.Action) -> StepOutcome:
        result = super().apply_action(action)
        if result.terminated:  # stop()
            return result
        reward, done, extra = self._validation = self.web_task.validate(PageView(self.tab), self._state)
        info = {**(result.info or {}), "task_reward": float(reward), "task_info": extra}
        if done:
            return StepOutcome(f"The task is done (reward {reward:g}).\n\n{result.observation}", terminated=True,
                               success=reward >= 1.0, outcome=float(reward), info=info)
        return StepOutcome(result.observation, info=info)

    def state_view(self) -> TaskView:
        return TaskView(self._path(), float(self._validation[0]), bool(self._validation[1]))

    def oracle_action(self) -> str:
        action = self.web_task.cheat(PageView(self.tab), self._state) if self.web_task is not None else None
        if action is None:
            raise NotImplementedError(f"{type(self.web_task).__name__} has no cheat(): no oracle for this task")
        return f"<action>{action}</action>"
