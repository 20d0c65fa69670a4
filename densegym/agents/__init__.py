"""Agents: policies that turn observations into action text.

For now the scripted baselines that need no model: :class:`RandomAgent` (a uniformly random
well-formed action) and :class:`OracleAgent` (the env's ``oracle_action()``: a solver's choice, used as a
baseline and for demonstrations).
"""

from densegym.agents.scripted import OracleAgent, RandomAgent, make_scripted_agent

__all__ = ["OracleAgent", "RandomAgent", "make_scripted_agent"]
