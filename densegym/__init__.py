"""densegym: Gymnasium envs for LLM agents in which every turn gets a dense, verifiable reward.

``import densegym`` registers every env id with Gymnasium (string entry points: no env family, torch,
browser or server is imported here)::

    import gymnasium as gym
    import densegym

    gym.register_envs(densegym)
    env = gym.make("densegym/Sokoban-v0")
"""

from densegym.envs.registration import register_all

__version__ = "0.1.0"


def clear_caches() -> None:
    """Empty every named process-wide cache of densegym (oracles, parsed actions, initial test runs, ...;
    ``densegym.resources.cache_sizes()`` lists them). Shared resources stay open."""
    from densegym.resources import clear_caches as clear

    clear()


register_all()
