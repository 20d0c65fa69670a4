"""Agents: policies that turn observations into action text.

Scripted baselines that need no model: :class:`RandomAgent` (a uniformly random well-formed action) and
:class:`OracleAgent` (the env's ``oracle_action()``: a solver's choice, used as a baseline and for
demonstrations). Model-backed agents, all implementing :class:`Agent` (``act(conversations)``):
:class:`HFAgent` (transformers; ``train`` extra), :class:`VLLMAgent` (``vllm`` extra),
:class:`OpenAIAgent` (any OpenAI-compatible server; standard library only) and :class:`HumanAgent`
(stdin, for ``densegym play``).

``HFAgent`` and ``VLLMAgent`` are imported on first use, so ``import densegym.agents`` never imports
torch, transformers or vllm.
"""

from typing import Any

from densegym.agents.base import Agent, AgentError, AgentOutput, Conversation, Message
from densegym.agents.human import HumanAgent
from densegym.agents.openai_compat import OpenAIAgent
from densegym.agents.scripted import OracleAgent, RandomAgent, make_scripted_agent

_LAZY = {"HFAgent": "densegym.agents.hf", "VLLMAgent": "densegym.agents.vllm"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Agent",
    "AgentError",
    "AgentOutput",
    "Conversation",
    "HFAgent",
    "HumanAgent",
    "Message",
    "OpenAIAgent",
    "OracleAgent",
    "RandomAgent",
    "VLLMAgent",
    "make_scripted_agent",
]
