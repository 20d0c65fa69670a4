"""`TextEnv`: the contract every densegym env implements (docs/architecture.md, "The env contract").

A subclass supplies the game; this base class supplies the protocol around it, so that every env
behaves the same way towards agents and trainers:

* ``reset`` picks a task (``options={"task": ...}`` or the seed) and returns the whole prompt.
* ``step`` takes the agent's raw text. The subclass parses and applies it; anything it rejects with
  :class:`ActionError` leaves the state untouched and comes back as a clear observation with
  ``info["action_valid"] = False``. Only misuse of the Python API raises.
* every step's ``info`` carries ``turn``, ``action_valid``, ``action_error``, ``reward_components``
  (every component, unweighted), ``reward_weights``, ``anchor`` (the state *before* the action), and on
  the last step ``success`` and ``outcome``; ``privileged`` holds what only a trainer may see.
* the scalar reward is the weighted sum of the env's :class:`~densegym.rewards.RewardSet`.

Subclass hooks (see :class:`densegym.envs.sokoban.SokobanEnv` for a complete example):

``default_rewards()``, ``sample_task(rng)``, ``resolve_task(spec)``, ``task_id(task)``,
``start(task) -> obs``, ``parse_action(text)``, ``apply_action(parsed) -> StepOutcome``,
``state_view()``, ``anchor()``; optionally ``action_help()``, ``privileged()``, ``render_text()``,
``save_state()`` / ``load_state()`` (with ``supports_snapshot = True``) and ``oracle_action()`` (with
``has_oracle = True``). A subclass that lacks a hook it needs fails when it is constructed, with a
``TypeError`` naming each missing method and what it must return (``REQUIRED_HOOKS``), not later with a bare
``NotImplementedError`` in the middle of a reset. ``anchor()`` has no default on purpose: GiGPO groups turns
by it, and a default that merged different states (or split equal ones) would corrupt training silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from densegym import resources

import gymnasium as gym
import numpy as np

from densegym.envs.spaces import TextSpace
from densegym.rewards.base import HookSpec, RewardSet, Transition


class ActionError(ValueError):
    """Raised by a subclass's ``parse_action`` / ``apply_action`` for an unparsable or illegal action.

    ``TextEnv.step`` catches it: the state is unchanged and the message reaches the agent.
    """


@dataclass(slots=True)
class StepOutcome:
    """What ``apply_action`` returns: the new observation text, whether the episode is over and how it ended."""

    observation: str
    terminated: bool = False
    success: bool = False
    outcome: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


def extract_tag(text: str, tag: str = "action") -> str | None:
    """The contents of the last ``<tag>...</tag>`` block in ``text`` (case-insensitive), or ``None``.

    Linear in the text's length, so a megabyte of garbage costs a scan, not a regex blow-up. (Searching
    a lower-cased copy would be wrong: lower-casing can change a string's length, e.g. "İ".)
    """
    if text.isascii():  # the common case: str.lower keeps every position, and rfind runs in C
        opening, closing = _TAGS.get(tag) or _tag_strings(tag)
        lower = text.lower()
        end = lower.rfind(closing)
        start = lower.rfind(opening, 0, end) if end >= 0 else -1
        return text[start + len(opening) : end] if start >= 0 else None
    close = None
    for close in _tag_pattern(f"</{tag}>").finditer(text):
        pass
    if close is None:
        return None
    opening = None
    for opening in _tag_pattern(f"<{tag}>").finditer(text, 0, close.start()):
        pass
    if opening is None:
        return None
    return text[opening.end() : close.start()]


_TAGS_MAX = 64
# a plain dict on the hot path (one lookup a step), kept within _TAGS_MAX by _tag_strings
_TAGS: dict[str, tuple[str, str]] = resources.register_cache("envs.action_tags", {}, _TAGS_MAX)


def _tag_strings(tag: str) -> tuple[str, str]:
    """``("<tag>", "</tag>")``, built once per tag."""
    if len(_TAGS) >= _TAGS_MAX:
        _TAGS.clear()
    pair = _TAGS[tag] = (f"<{tag}>", f"</{tag}>")
    return pair


@resources.cached("envs.tag_patterns", maxsize=64)
def _tag_pattern(literal: str) -> re.Pattern[str]:
    return re.compile(re.escape(literal), re.IGNORECASE)


_WS = re.compile(r"\s+")


def squash(text: str, limit: int = 60) -> str:
    """A short one-line rendering of (possibly huge or multi-line) user text for an error message."""
    text = _WS.sub(" ", text[: limit * 4]).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


# What each hook must do, as the error of a subclass that lacks it says (docs/writing-an-env.md has the table).
REQUIRED_HOOKS: dict[str, str] = {
    "default_rewards": "default_rewards() -> RewardSet: the reward components and their weights, e.g. "
    "RewardSet({'format': (format_reward(), 0.1), 'outcome': (outcome_reward(), 1.0)})",
    "sample_task": "sample_task(rng) -> task: the task for a seed (rng is the env's numpy Generator)",
    "start": "start(task) -> str: set up the task's state and return the whole opening prompt",
    "parse_action": "parse_action(text) -> parsed action: read the action from the agent's raw text "
    "(extract_tag(text) gives the last <action>...</action>); raise ActionError for text it cannot use",
    "apply_action": "apply_action(parsed) -> StepOutcome: apply the action; raise ActionError before changing "
    "any state if it is illegal",
    "state_view": "state_view() -> an immutable view of the state (a NamedTuple is ideal), given to reward hooks "
    "as before / after",
    "anchor": "anchor() -> str: a canonical string of the state, equal for equal states and different for "
    "different ones (GiGPO groups turns by it); e.g. return repr(self.state_view()) when that repr is canonical",
}
SNAPSHOT_HOOKS: dict[str, str] = {
    "save_state": "save_state() -> a copy of the state that load_state can restore later (supports_snapshot = True)",
    "load_state": "load_state(state) -> None: put back a state that save_state returned (supports_snapshot = True)",
}
ORACLE_HOOKS: dict[str, str] = {
    "oracle_action": "oracle_action() -> str: the verifier's or solver's action, in the agent's format "
    "(has_oracle = True)",
}


def missing_hooks(cls: type) -> dict[str, str]:
    """The hooks ``cls`` (a :class:`TextEnv` subclass) needs and does not define: ``{name: what it must do}``.
    ``save_state`` / ``load_state`` are needed with ``supports_snapshot = True``, ``oracle_action`` with
    ``has_oracle = True``."""
    needed = dict(REQUIRED_HOOKS)
    if getattr(cls, "supports_snapshot", False):
        needed.update(SNAPSHOT_HOOKS)
    if getattr(cls, "has_oracle", False):
        needed.update(ORACLE_HOOKS)
    return {name: what for name, what in needed.items() if getattr(cls, name, None) is TextEnv.__dict__[name]}


def _missing_message(cls: type, missing: dict[str, str]) -> str:
    names = ", ".join(f"{name}()" for name in missing)
    lines = "\n".join(f"  - {what}" for what in missing.values())
    return (f"{cls.__name__} does not implement {names}, which a TextEnv subclass must define:\n{lines}\n"
            "(docs/writing-an-env.md has a complete skeleton)")


class TextEnv(gym.Env[str, str]):
    """Base class of all densegym envs. See the module docstring for the contract."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    supports_snapshot: ClassVar[bool] = False
    has_oracle: ClassVar[bool] = False
    default_max_turns: ClassVar[int] = 50
    action_tag: ClassVar[str] = "action"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__orig_bases__" not in cls.__dict__:
            # dill (EnvPool's pickler) rebuilds a class defined in a script from its ``__orig_bases__`` when it has
            # one, and a subclass inherits TextEnv's (``gym.Env[str, str]``): the rebuilt class would lose TextEnv
            # and every method of it. Its own bases are the right ones.
            cls.__orig_bases__ = cls.__bases__

    def __init__(
        self,
        *,
        max_turns: int | None = None,
        rewards: dict[str, HookSpec] | None = None,
        render_mode: str | None = None,
        max_action_chars: int = 16_384,
        max_observation_chars: int = 65_536,
    ):
        missing = missing_hooks(type(self))
        if missing:
            raise TypeError(_missing_message(type(self), missing))
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.max_turns = int(max_turns if max_turns is not None else self.default_max_turns)
        if self.max_turns < 1:
            raise ValueError(f"max_turns must be at least 1, got {self.max_turns}")
        self.action_space = TextSpace(max_action_chars)
        self.observation_space = TextSpace(max_observation_chars)
        self.rewards = self.default_rewards().with_overrides(rewards)
        self.task: Any = None
        self._turn = 0
        self._done = True
        self._started = False

    # ---- the subclass's part ------------------------------------------------------------------

    def default_rewards(self) -> RewardSet:
        """The env's reward components and their default weights."""
        raise NotImplementedError(_missing_message(type(self), {"default_rewards": REQUIRED_HOOKS["default_rewards"]}))

    def sample_task(self, rng: np.random.Generator) -> Any:
        """The task for a seed: ``rng`` is the env's ``np_random``, seeded by ``reset(seed=...)``."""
        raise NotImplementedError(_missing_message(type(self), {"sample_task": REQUIRED_HOOKS["sample_task"]}))

    def resolve_task(self, spec: Any) -> Any:
        """Turn ``options["task"]`` (an id or a task object) into a task; raise ``ValueError`` if unknown."""
        return spec

    def task_id(self, task: Any) -> str:
        return str(task)

    def start(self, task: Any) -> str:
        """Set up ``task`` and return the whole opening prompt."""
        raise NotImplementedError(_missing_message(type(self), {"start": REQUIRED_HOOKS["start"]}))

    def parse_action(self, text: str) -> Any:
        """The action in the agent's raw text; ``ActionError`` for text that holds none."""
        raise NotImplementedError(_missing_message(type(self), {"parse_action": REQUIRED_HOOKS["parse_action"]}))

    def apply_action(self, parsed: Any) -> StepOutcome:
        """Apply a parsed action atomically: raise ``ActionError`` *before* changing any state."""
        raise NotImplementedError(_missing_message(type(self), {"apply_action": REQUIRED_HOOKS["apply_action"]}))

    def state_view(self) -> Any:
        """An immutable view of the state, handed to reward hooks as ``before`` / ``after``."""
        raise NotImplementedError(_missing_message(type(self), {"state_view": REQUIRED_HOOKS["state_view"]}))

    def anchor(self) -> str:
        """A canonical string of the env state: identical states give identical strings.

        No default: GiGPO groups turns by it, so a default that merged different states (an id-based repr) or
        split equal ones would corrupt the advantages without any error. ``repr(self.state_view())`` is right
        when the view is a NamedTuple (or tuple) of plain values."""
        raise NotImplementedError(_missing_message(type(self), {"anchor": REQUIRED_HOOKS["anchor"]}))

    def action_help(self) -> str:
        """One or two lines saying what actions are accepted (appended to every invalid-action message)."""
        return f"Write your action inside <{self.action_tag}>...</{self.action_tag}>."

    def privileged(self) -> dict[str, Any] | None:
        """What a trainer may use and the agent must never see (gold answers, oracle distances)."""
        return None

    def invalid_observation(self, error: str) -> str:
        """What an invalid action's turn shows: the error and ``action_help()``. An env whose state a context
        policy may drop (``current`` keeps only the latest observation) restates it here."""
        return f"Invalid action: {error}\n{self.action_help()}"

    def render_text(self) -> str:
        return self.anchor()

    def save_state(self) -> Any:
        """A copy of the state for ``load_state`` (only with ``supports_snapshot = True``)."""
        raise NotImplementedError(_missing_message(type(self), {"save_state": SNAPSHOT_HOOKS["save_state"]}))

    def load_state(self, state: Any) -> None:
        """Put back a state ``save_state`` returned (only with ``supports_snapshot = True``)."""
        raise NotImplementedError(_missing_message(type(self), {"load_state": SNAPSHOT_HOOKS["load_state"]}))

    # ---- the protocol -------------------------------------------------------------------------

    @property
    def turn(self) -> int:
        return self._turn

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        if "_started" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__(**kwargs) (TextEnv sets up "
                               "the turn counter, the reward set and the spaces there)")
        super().reset(seed=seed)
        spec = (options or {}).get("task")
        self.task = self.resolve_task(spec) if spec is not None else self.sample_task(self.np_random)
        self._turn, self._done, self._started = 0, False, True
        obs = self.start(self.task)
        info: dict[str, Any] = {"task_id": self.task_id(self.task), "turn": 0, "anchor": self.anchor()}
        info["reward_weights"] = self.rewards.weights
        privileged = self.privileged()
        if privileged is not None:
            info["privileged"] = privileged
        return self._clip_obs(obs), info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("step() called before reset(): call env.reset() first")
        if self._done:
            raise RuntimeError("step() called after the episode ended: call env.reset() to start a new one")
        if not isinstance(action, str):
            raise TypeError(f"action must be a str (the agent's raw text), got {type(action).__name__}")

        self._turn = turn = self._turn + 1
        before, anchor = self._view_and_anchor()
        parsed, error = None, None
        try:
            if len(action) > self.action_space.max_length:
                raise ActionError(
                    f"the action is {len(action):,} characters long; at most "
                    f"{self.action_space.max_length:,} are accepted"
                )
            parsed = self.parse_action(action)
            result = self.apply_action(parsed)
        except ActionError as exc:
            parsed, error = None, str(exc)
            result = StepOutcome(observation=self.invalid_observation(error))

        terminated = result.terminated
        truncated = not terminated and turn >= self.max_turns
        valid = error is None
        info: dict[str, Any] = {"turn": turn, "action_valid": valid, "action_error": error, "anchor": anchor}
        if result.info:
            info.update(result.info)
            valid = bool(info["action_valid"])  # as the reward hooks read it, should the env's info override it
        if terminated or truncated:
            info["success"] = bool(result.success)
            info["outcome"] = float(result.outcome)
        rewards = self.rewards
        reward, info["reward_components"] = rewards.compute(
            Transition(self, before, action, parsed, self.state_view(), info, terminated, valid)
        )
        info["reward_weights"] = rewards.weights
        privileged = self.privileged()
        if privileged is not None:
            info["privileged"] = privileged
        self._done = terminated or truncated
        obs = result.observation
        if len(obs) > self.observation_space.max_length:
            obs = self._clip_obs(obs)
        return obs, reward, terminated, truncated, info

    def _view_and_anchor(self) -> tuple[Any, str]:
        """``(state_view(), anchor())`` of the current state; an env may override it to compute both at once."""
        return self.state_view(), self.anchor()

    def render(self) -> Any:
        if self.render_mode == "ansi":
            return self.render_text()
        return None

    def snapshot(self) -> dict[str, Any]:
        """The whole episode state (env state and turn counter) for ``restore``; see VPR / SLATE."""
        if not self.supports_snapshot:
            raise NotImplementedError(f"{type(self).__name__} does not support snapshot()/restore()")
        return {"turn": self._turn, "done": self._done, "task": self.task, "state": self.save_state()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        if not self.supports_snapshot:
            raise NotImplementedError(f"{type(self).__name__} does not support snapshot()/restore()")
        self.task = snapshot["task"]
        self.load_state(snapshot["state"])
        self._turn, self._done, self._started = snapshot["turn"], snapshot["done"], True

    def score_action(self, action: str) -> tuple[float, dict[str, Any]]:
        """Reward and info of ``action`` from the current state, without committing it (VPR's ``score_action``)."""
        saved = self.snapshot()
        try:
            _, reward, _, _, info = self.step(action)
            return reward, info
        finally:
            self.restore(saved)

    def random_action(self, rng: np.random.Generator) -> str:
        """A random action for baselines; envs override it with a random *well-formed* action."""
        return self.action_space.sample()

    def oracle_action(self) -> str:
        """An action chosen by the env's verifier or solver (BrowserGym's ``cheat``)."""
        raise NotImplementedError(f"{type(self).__name__} has no oracle")

    def _clip_obs(self, obs: str) -> str:
        limit = self.observation_space.max_length
        if len(obs) <= limit:
            return obs
        note = "\n[... observation truncated ...]"
        return obs[: limit - len(note)] + note
