"""Reward hooks: named, verifiable per-turn reward components.

A *hook* computes one component from a :class:`Transition`. An env owns a :class:`RewardSet`
(name -> hook and weight); the scalar reward of a step is the weighted sum, and
``info["reward_components"]`` carries every component unweighted so that a trainer can re-weight after
the fact without re-running the env.

A hook is any callable ``hook(transition) -> float``. Subclassing :class:`RewardHook` is optional; it
adds a ``range`` and a ``description`` that ``densegym list`` and the docs show.
"""

from __future__ import annotations

import math
import numbers
import types
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from densegym.envs.base import TextEnv


_TransitionFields = namedtuple(
    "Transition", ["env", "before", "action", "parsed", "after", "info", "terminated", "valid"]
)
_tuple_new = tuple.__new__


class Transition(_TransitionFields):
    """What one step did, as a reward hook sees it (immutable).

    ``Transition(env, before, action, parsed, after, info, terminated)``.

    Attributes:
        env: the env (read-only use: a hook must not change it).
        before: the env's state view before the action (``env.state_view()``).
        action: the agent's raw text.
        parsed: the parsed action, or ``None`` when the action was not valid.
        after: the env's state view after the action (equal to ``before`` when it was not valid).
        info: the step's ``info`` so far (``action_valid``, ``action_error``, env-specific keys, and
            ``success`` / ``outcome`` on the last step).
        terminated: whether the episode ended in a terminal state on this step.
        valid: whether the action parsed and was legal (``info["action_valid"]``; computed from
            ``info`` when not given).

    A named tuple rather than a frozen dataclass: one is built on every step of every env, and a
    tuple costs a third of a frozen dataclass's ``__init__``.
    """

    __slots__ = ()

    def __new__(
        cls,
        env: TextEnv,
        before: Any,
        action: str,
        parsed: Any,
        after: Any,
        info: Mapping[str, Any],
        terminated: bool,
        valid: bool | None = None,
    ) -> Transition:
        if valid is None:
            valid = bool(info.get("action_valid", False))
        return _tuple_new(cls, (env, before, action, parsed, after, info, terminated, valid))


class RewardHook:
    """Base class for a reward component. Subclasses implement ``__call__``.

    Attributes:
        range: the closed interval the component's value lies in, for documentation and checks.
        description: one line saying what the component rewards and what verifies it.
        farmable: True when the value is a per-state verdict that can be earned again and again without
            progress (undo and redo a step): fine for comparing the actions of one state, not to be summed
            over turns. The trainer warns when an estimator that sums rewards over turns gives it weight.
    """

    range: tuple[float, float] = (-math.inf, math.inf)
    description: str = ""
    farmable: bool = False

    def __call__(self, t: Transition) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


Hook = Callable[[Transition], float]
HookSpec = Union[float, int, Hook, tuple]


def _direct_call(hook: Hook) -> Hook:
    """What ``compute`` calls for ``hook``: the same call, made cheaper.

    For an object whose class defines ``__call__`` in Python (every :class:`RewardHook`), the bound
    ``__call__`` method: calling it is what calling the object does, without the slot wrapper that makes
    an object call about twice as slow. Any other callable as it is.
    """
    for klass in type(hook).__mro__:  # the raw attribute: a staticmethod or classmethod is left alone
        if "__call__" in klass.__dict__:
            call = klass.__dict__["__call__"]
            return call.__get__(hook) if isinstance(call, types.FunctionType) else hook
    return hook


class RewardSet(Mapping[str, tuple[Hook, float]]):
    """An ordered mapping ``name -> (hook, weight)``.

    ``compute(transition)`` returns the weighted scalar and every component's unweighted value.
    """

    def __init__(self, hooks: Mapping[str, tuple[Hook, float]] | None = None):
        self._hooks: dict[str, tuple[Hook, float]] = {}
        for name, (hook, weight) in (hooks or {}).items():
            self._hooks[name] = (hook, float(weight))
        # what compute() and weights read on every step, built once (a RewardSet never changes)
        self._items = tuple((name, _direct_call(hook), weight) for name, (hook, weight) in self._hooks.items())
        self._weights = {name: w for name, (_, w) in self._hooks.items()}

    def __getitem__(self, name: str) -> tuple[Hook, float]:
        return self._hooks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._hooks)

    def __len__(self) -> int:
        return len(self._hooks)

    @property
    def weights(self) -> dict[str, float]:
        """``name -> weight``, a new dict on each call (it goes into every step's ``info``)."""
        return self._weights.copy()

    def with_overrides(self, spec: Mapping[str, HookSpec] | None) -> RewardSet:
        """A copy with weights changed and user hooks added.

        ``spec`` maps a name to a weight (for a known component), to ``(hook, weight)`` (adds or
        replaces a component), or to a bare hook (weight 1). A weight for an unknown name raises
        ``ValueError`` listing the known names.
        """
        hooks = dict(self._hooks)
        for name, value in (spec or {}).items():
            if isinstance(value, tuple):
                if len(value) != 2 or not callable(value[0]):
                    raise ValueError(f"reward {name!r}: expected (hook, weight), got {value!r}")
                if not isinstance(value[1], numbers.Real) or not math.isfinite(value[1]):
                    raise ValueError(f"reward {name!r}: the weight must be a finite number, got {value[1]!r}")
                hooks[name] = (value[0], float(value[1]))
            elif callable(value):
                hooks[name] = (value, 1.0)
            elif isinstance(value, numbers.Real) and not isinstance(value, bool):
                if not math.isfinite(value):
                    raise ValueError(f"reward {name!r}: the weight must be finite, got {value}")
                if name not in hooks:
                    known = ", ".join(hooks) or "(none)"
                    raise ValueError(
                        f"unknown reward component {name!r}; known components: {known}. "
                        f"To add a component of your own pass {name!r}: (hook, weight)."
                    )
                hooks[name] = (hooks[name][0], float(value))
            else:
                raise ValueError(f"reward {name!r}: expected a weight, a hook or (hook, weight), got {value!r}")
        return RewardSet(hooks)

    def compute(self, t: Transition) -> tuple[float, dict[str, float]]:
        components: dict[str, float] = {}
        total = 0.0
        for name, hook, weight in self._items:
            value = float(hook(t))
            if value - value != 0.0:  # inf or nan; cheaper than math.isfinite on this per-step path
                raise ValueError(f"reward hook {name!r} returned {value}, which is not finite")
            components[name] = value
            total += weight * value
        return total, components
