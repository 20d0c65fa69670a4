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
    "ContainerPool",
    "DockerExecutor",
    "ExecResult",
    "IsolationUnavailable",
    "Limits",
    "LocalExecutor",
    "PathEscape",
    "UnsafeLocalWarning",
    "Workspace",
    "bubblewrap_path",
    "docker_available",
]

_DOCKER = {"ContainerPool", "DockerExecutor", "docker_available"}


def __getattr__(name: str):
    # Lazily: importing densegym.sandbox must not import the docker package (an optional dependency).
    if name in _DOCKER:
        from densegym.sandbox import docker

        return getattr(docker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
