"""Scripted agents that act through the env itself (no model): random and oracle."""

from __future__ import annotations

from typing import Any

import numpy as np


class RandomAgent:
    """Picks a uniformly random well-formed action (``env.random_action``); a lower baseline."""

    name = "random"

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(seed)

    def act(self, env: Any, observation: str) -> str:
        return env.unwrapped.random_action(self.rng)


class OracleAgent:
    """Plays ``env.oracle_action()``: the verifier's or solver's choice; an upper baseline."""

    name = "oracle"

    def act(self, env: Any, observation: str) -> str:
        return env.unwrapped.oracle_action()


def make_scripted_agent(name: str, seed: int | None = None) -> RandomAgent | OracleAgent:
    if name == "random":
        return RandomAgent(seed)
    if name == "oracle":
        return OracleAgent()
    raise ValueError(f"unknown agent {name!r}; choose 'oracle' or 'random'")
