"""Agents: policies that turn observations into action text.

* the protocol: :class:`Agent` acts on a batch of conversations, returning :class:`AgentOutput` s;
* scripted baselines that need no model: :class:`RandomAgent` and :class:`OracleAgent` (the env's
  ``oracle_action()``);
* model-backed agents, imported on first use so that ``import densegym.agents`` stays light:
  ``HFAgent`` (transformers), ``VLLMAgent`` (vLLM), ``OpenAIAgent`` (any OpenAI-compatible server),
  ``HumanAgent`` (a person at the terminal);
* :func:`make_agent`: any of them from one spec string (``"oracle"``, ``"hf:PATH"``, ``"openai:URL#MODEL"``
  ...), as the command line's ``--agent`` takes it.
"""

from importlib import import_module
from typing import Any

from densegym.agents.base import Agent, AgentError, AgentOutput, Conversation, Message
from densegym.agents.context import ContextOverflow, ContextPolicy
from densegym.agents.scripted import EnvMethodAgent, OracleAgent, RandomAgent, make_scripted_agent
from densegym.agents.spec import make_agent

_LAZY = {
    "HFAgent": "densegym.agents.hf",
    "VLLMAgent": "densegym.agents.vllm",
    "OpenAIAgent": "densegym.agents.openai_compat",
    "HumanAgent": "densegym.agents.human",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'densegym.agents' has no attribute {name!r}")


__all__ = [
    "Agent",
    "AgentError",
    "AgentOutput",
    "Conversation",
    "Message",
    "ContextOverflow",
    "ContextPolicy",
    "EnvMethodAgent",
    "OracleAgent",
    "RandomAgent",
    "make_scripted_agent",
    "make_agent",
    *_LAZY,
]
