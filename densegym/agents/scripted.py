"""Scripted agents that act through the env itself (no model): random and oracle.

They declare ``env_method``; the rollout engine calls that method on the env inside its worker (the
env's oracle lives there), passing a per-episode random generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class EnvMethodAgent:
    """An agent whose action is ``env.<env_method>(rng)`` (or ``env.<env_method>()``)."""

    name = "env-method"
    env_method = ""
    takes_rng = False

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(seed)

    def act_on_env(self, env: Any, rng: np.random.Generator | None = None) -> str:
        method = getattr(env.unwrapped, self.env_method)
        return method(rng if rng is not None else self.rng) if self.takes_rng else method()

    # the in-process form used by densegym.episode.run_episode
    def act(self, env: Any, observation: str) -> str:
        return self.act_on_env(env)


class RandomAgent(EnvMethodAgent):
    """Picks a uniformly random well-formed action (``env.random_action``); a lower baseline."""

    name = "random"
    env_method = "random_action"
    takes_rng = True


class OracleAgent(EnvMethodAgent):
    """Plays ``env.oracle_action()``: the verifier's or solver's choice; an upper baseline and demonstrations."""

    name = "oracle"
    env_method = "oracle_action"


def make_scripted_agent(name: str, seed: int | None = None) -> EnvMethodAgent:
    if name == "random":
        return RandomAgent(seed)
    if name == "oracle":
        return OracleAgent(seed)
    raise ValueError(f"unknown agent {name!r}; choose 'oracle' or 'random'")
