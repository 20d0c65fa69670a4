"""Sandboxing shared by the code families: a workspace jail and command executors with limits."""

from densegym.sandbox.executor import ExecResult, Limits, LocalExecutor, bubblewrap_path
from densegym.sandbox.workspace import PathEscape, Workspace

__all__ = ["ExecResult", "Limits", "LocalExecutor", "PathEscape", "Workspace", "bubblewrap_path"]
