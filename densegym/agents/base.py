"""The agent protocol: act on a batch of conversations at once.

A *conversation* is a list of chat messages ``{"role": "system" | "user" | "assistant", "content": str}``
ending with the env's latest observation as a user message. An agent returns one
:class:`AgentOutput` per conversation: the text, and where the agent has them the prompt token ids, the
action token ids and their log-probabilities under the sampling policy (what a trainer needs).

Scripted agents that need the env itself (the oracle, a random well-formed move) declare
``env_method``: the rollout engine calls that method on the env, inside its worker, instead of ``act``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Message = dict[str, str]
Conversation = list[Message]


@dataclass
class AgentOutput:
    text: str
    prompt_ids: list[int] | None = None
    action_ids: list[int] | None = None
    action_logprobs: list[float] | None = None


@runtime_checkable
class Agent(Protocol):
    """Anything with ``act(conversations) -> outputs``, one output per conversation, in order."""

    def act(self, conversations: Sequence[Conversation]) -> list[AgentOutput]: ...


class AgentError(RuntimeError):
    """An agent could not produce an action (a server error after retries, a timeout, ...)."""
