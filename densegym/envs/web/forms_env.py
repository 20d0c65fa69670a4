"""``densegym/WebForms-v0``: fill in multi-page forms in a real browser, with per-field subgoal rewards."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import numpy as np

from densegym.envs.web.env import BrowserEnv
from densegym.envs.web.forms import SCHEMAS, FormGoal, active, form_score, make_form_goal, parse_form_task_id


class FormsView(NamedTuple):
    """The page (path and query) and the server-side facts: each goal field right in the saved draft, each page
    accepted by the server's validation, the form submitted."""

    path: str
    fields: tuple[bool, ...]
    pages: tuple[bool, ...]
    submitted: bool

    @property
    def progress(self) -> float:
        return (sum(self.fields) + sum(self.pages) + self.submitted) / (len(self.fields) + len(self.pages) + 1)


class WebFormsEnv(BrowserEnv):
    """Fill in and submit a form on a bundled web app, in a real browser (Chromium through Playwright).

    ## Description

    Three forms served by the same app server as WebShop (``/forms``): a two-page flight booking (a return date
    that appears only for round trips, date pickers, From and To that must differ, a confirmation dialog),
    account settings (time zones that depend on the region, a digest frequency that appears only with the
    newsletter) and a two-page clinic appointment (doctors that depend on the department, weekdays only, a
    confirmation dialog). The server validates each page and lists the errors; every change of a field is saved
    as a draft in the episode's session. A task is a set of target values drawn from a form's schema
    (``forms:SCHEMA:TASK_SEED`` ids reproduce it).

    ## Actions

    As WebShop-v0: BrowserGym's ``click``, ``fill`` (dates as ``YYYY-MM-DD``), ``select_option``, ``press``,
    ``scroll``, ``hover``, ``go_back``, ``goto`` (this site only), ``send_msg_to_user``, ``noop``, ``stop``.

    ## Observations

    The URL, title, the last action's error, notes, and the accessibility tree with bids.

    ## Rewards

    | component | meaning | range | default weight |
    |---|---|---|---|
    | ``subgoals`` | potential-based change of the share of checkpoints reached, read from the server's session: each goal field right in the saved draft, each page accepted, the form submitted | ``[-1, 1]`` | 1.0 |
    | ``format`` | 0 for an action that parsed and applied, -1 otherwise | ``{-1, 0}`` | 0.1 |
    | ``outcome`` | the share of the goal's fields that the submission holds (1 only for all) | ``[0, 1]`` | 1.0 |

    ## Starting state

    The first page of the task's form, empty, in a fresh browser context.

    ## Episode end

    Terminates when the form is submitted (``success`` when every field is right) or on ``stop()``; truncates
    at ``max_turns`` (30).

    ## Arguments

    ``forms`` (all three: ``booking``, ``settings``, ``appointment``), ``action_timeout_s`` (5),
    ``step_timeout_s`` (15), ``lab`` (False).

    ## Version history

    * v0: initial version.
    """

    stop_message = "You stopped without submitting the form."

    def __init__(self, forms: tuple[str, ...] | list[str] | None = None, **kwargs: Any):
        self.forms = tuple(forms) if forms else tuple(SCHEMAS)
        unknown = [f for f in self.forms if f not in SCHEMAS]
        if unknown:
            raise ValueError(f"unknown forms {unknown}; known: {', '.join(SCHEMAS)}")
        super().__init__(**kwargs)

    @property
    def start_path(self) -> str:  # type: ignore[override]
        return f"/forms/{self.goal.schema}/1" if self.goal is not None else "/forms"

    def sample_task(self, rng: np.random.Generator) -> FormGoal:
        return make_form_goal(self.forms[int(rng.integers(0, len(self.forms)))], int(rng.integers(0, 10**6)))

    def resolve_task(self, spec: Any) -> FormGoal:
        if isinstance(spec, FormGoal):
            return spec
        return make_form_goal(*parse_form_task_id(str(spec)))

    def task_id(self, task: FormGoal) -> str:
        return task.task_id

    def intro(self, task: FormGoal) -> str:
        return (f"You are using a website in a web browser.\nInstruction: {task.instruction}\n"
                "Dates are written YYYY-MM-DD. The episode ends when the form is submitted.")

    def _form(self, state: dict | None = None) -> dict:
        state = self._state if state is None else state
        return (state.get("forms") or {}).get(self.goal.schema) or {"draft": {}, "done": [], "submitted": None,
                                                                      "attempts": 0}

    def finished(self, before: dict, after: dict) -> tuple[str, float] | None:
        if self._form(after)["attempts"] > self._form(before)["attempts"]:
            result = form_score(self.goal, self._form(after)["submitted"])
            return f"Form submitted (score {result:.2f}).", result
        return None

    def state_view(self) -> FormsView:
        if self.goal is None:
            return FormsView("", (), (), False)
        form = self._form()
        draft = form["draft"]
        return FormsView(self._path(), tuple(draft.get(n, "").strip() == v for n, v in self.goal.values),
                         tuple(i in form["done"] for i in range(len(SCHEMAS[self.goal.schema].pages))),
                         form["submitted"] is not None)

    def privileged(self) -> dict[str, Any] | None:
        if self.goal is None:
            return None
        view = self.state_view()
        return {"values": dict(self.goal.values), "fields_right": list(view.fields), "pages_done": list(view.pages),
                "submitted": view.submitted}

    def oracle_action(self) -> str:
        return f"<action>{self._oracle()}</action>"

    def _oracle(self) -> str:
        schema = SCHEMAS[self.goal.schema]
        form, target = self._form(), dict(self.goal.values)
        if form["submitted"] is not None:
            return "stop()"
        first = f'goto("/forms/{schema.name}/1")'
        m = re.fullmatch(rf"/forms/{schema.name}/(\d+|review|done)", self._path().split("?")[0])
        if m is None:
            return self._click("#step-1") or first
        open_pages = [i for i in range(len(schema.pages)) if i not in form["done"]]
        if m.group(1) in ("review", "done"):
            if open_pages:
                return self._click(f"#step-{open_pages[0] + 1}") or first
            if schema.confirm and not self.tab.visible("#confirm-submit"):
                return self._click("#open-submit") or first
            return self._click("#confirm-submit") or first
        i = int(m.group(1)) - 1
        if open_pages and i > open_pages[0]:
            return self._click(f"#step-{open_pages[0] + 1}") or first
        draft = form["draft"]
        for f in schema.pages[i][1]:
            if not active(f, target) or draft.get(f.name, "").strip() == target[f.name]:
                continue
            want = target[f.name]
            if f.kind == "radio":
                return self._click(f"#f-{f.name}-{f.choices.index(want)}") or first
            if f.kind == "checkbox":
                return self._click(f"#f-{f.name}") or first
            bid = self.tab.bid_of(f"#f-{f.name}")
            if bid is None:
                return first
            if f.kind == "select":
                return f'select_option("{bid}", "{want}")'
            return f'fill("{bid}", "{want}")'
        return self._click("#next") or first
