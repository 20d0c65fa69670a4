"""Sokoban with an exact solver: generated or Boxoban-format levels, oracle-verified dense rewards."""

from densegym.envs.sokoban.env import SokobanEnv
from densegym.envs.sokoban.generator import GenerationError, generate_level
from densegym.envs.sokoban.level import Level, load_levels, parse_levels
from densegym.envs.sokoban.oracle import SokobanOracle, oracle_for

__all__ = [
    "GenerationError",
    "Level",
    "SokobanEnv",
    "SokobanOracle",
    "generate_level",
    "load_levels",
    "oracle_for",
    "parse_levels",
]
