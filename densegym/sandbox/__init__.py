"""Sandboxing shared by the code families: a workspace jail and command executors with limits."""

from densegym.sandbox.executor import (
    ExecResult,
    IsolationUnavailable,
    Limits,
    LocalExecutor,
    UnsafeLocalWarning,
    bubblewrap_path,
)
from densegym.sandbox.workspace import PathEscape, Workspace

__all__ = [
    "ExecResult",
    "IsolationUnavailable",
    "Limits",
    "LocalExecutor",
    "PathEscape",
    "UnsafeLocalWarning",
    "Workspace",
    "bubblewrap_path",
]
