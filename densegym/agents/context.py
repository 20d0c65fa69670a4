"""Context policies: which part of an episode's history the agent sees each turn.

* ``full``: the task prompt and every (action, observation) pair so far.
* ``last_k``: the task prompt and the last ``k`` pairs.
* ``current``: the task prompt and the latest observation only (the state is rendered fresh each
  turn, as VPR's ``history_length = 0``).

The task prompt (the reset observation) is always kept: it holds the instructions and the action
format. With a token budget (``max_tokens`` and a ``count_tokens`` function), the oldest pairs are
dropped until the conversation fits; if even the task prompt and the latest observation do not fit,
:class:`ContextOverflow` is raised and the rollout ends that episode as truncated (``meta
["context_overflow"] = True``), rather than silently cutting the prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from densegym.agents.base import Conversation


class ContextOverflow(RuntimeError):
    """Even the shortest allowed context exceeds the token budget."""


def _approx_tokens(conversation: Conversation) -> int:
    """A tokenizer-free estimate (about 4 characters a token) used when no counter is given."""
    return sum(len(m["content"]) // 4 + 4 for m in conversation)


@dataclass
class ContextPolicy:
    mode: str = "full"
    k: int = 4
    max_tokens: int | None = None
    count_tokens: Callable[[Conversation], int] | None = None
    system_prompt: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("full", "last_k", "current"):
            raise ValueError(f"context mode must be 'full', 'last_k' or 'current', got {self.mode!r}")
        if self.k < 0:
            raise ValueError(f"k must be >= 0, got {self.k}")

    @classmethod
    def from_spec(cls, spec: str, **kwargs) -> ContextPolicy:
        """``"full"``, ``"current"`` or ``"last_k:K"`` (as written in configs and on the command line)."""
        mode, _, k = spec.partition(":")
        if mode == "last_k":
            if not k.isdigit():
                raise ValueError(f"context {spec!r}: write last_k:K with K a whole number, e.g. last_k:2")
            return cls("last_k", int(k), **kwargs)
        if k:
            raise ValueError(f"context {spec!r}: only last_k takes a number; use full, current or last_k:K")
        return cls(mode, **kwargs)

    def build(self, observations: Sequence[str], actions: Sequence[str]) -> Conversation:
        """The conversation for the next action, from ``observations[0..t]`` and ``actions[0..t-1]``."""
        if len(observations) != len(actions) + 1:
            raise ValueError("need exactly one more observation than actions")
        pairs = list(zip(actions, observations[1:]))
        if self.mode == "last_k":
            pairs = pairs[-self.k :] if self.k else []
        head: Conversation = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        head.append({"role": "user", "content": observations[0]})
        if self.mode == "current":
            tail = [{"role": "user", "content": observations[-1]}] if pairs else []
            return self._fit(head, [], tail)
        return self._fit(head, pairs, [])

    def _fit(self, head: Conversation, pairs: list[tuple[str, str]], tail: Conversation) -> Conversation:
        def render(p: list[tuple[str, str]]) -> Conversation:
            body: Conversation = []
            for action, obs in p:
                body += [{"role": "assistant", "content": action}, {"role": "user", "content": obs}]
            return head + body + tail

        conversation = render(pairs)
        if self.max_tokens is None:
            return conversation
        count = self.count_tokens or _approx_tokens
        while count(conversation) > self.max_tokens:
            if len(pairs) <= 1:
                raise ContextOverflow(
                    f"the task prompt and latest observation need {count(conversation)} tokens; "
                    f"the budget is {self.max_tokens}"
                )
            pairs = pairs[1:]
            conversation = render(pairs)
        return conversation
