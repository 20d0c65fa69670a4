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

register_all()
