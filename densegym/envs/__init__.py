"""Env base classes and the env families (one subpackage each, imported on demand)."""

from densegym.envs.base import ActionError, StepOutcome, TextEnv, extract_tag
from densegym.envs.spaces import TextSpace

__all__ = ["ActionError", "StepOutcome", "TextEnv", "TextSpace", "extract_tag"]
