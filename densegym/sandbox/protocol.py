"""The one Executor API every code family runs model-written code through.

An executor owns a **workspace** (files, by workspace-relative and jailed paths) and runs commands in it
under limits, isolated. Nothing outside ``densegym.sandbox`` needs to know whether that workspace is a host
directory, a bubblewrap view of one or a container's volume, nor which interpreter runs inside:
``executor.python`` names it.

Implementations: :class:`~densegym.sandbox.executor.LocalExecutor` (a host directory, bubblewrap); a Docker
executor implements the same methods (a container per episode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from densegym.sandbox.executor import ExecResult, Limits


@runtime_checkable
class Executor(Protocol):
    """Commands and files of one workspace. Paths are workspace-relative: an absolute path, ``..``, a
    symlink out or a hidden file is refused with :class:`~densegym.sandbox.PathEscape`."""

    @property
    def isolated(self) -> bool:
        """Whether commands run isolated from the host (False only with ``unsafe_local=True``)."""

    @property
    def python(self) -> str:
        """The Python interpreter, as a command inside the executor names it."""

    @property
    def root(self) -> str:
        """The workspace's path as a command inside the executor sees it (its working directory)."""

    def run(
        self,
        argv: Sequence[str],
        cwd: str = ".",
        *,
        env: Mapping[str, str] | None = None,
        limits: Limits | None = None,
        channel: bool = False,
        read_only: Sequence[str] = (),
    ) -> ExecResult:
        """Run ``argv`` in the workspace directory ``cwd`` under ``limits``; ``env`` is all the environment
        it gets (beyond a minimal allow list); ``channel`` opens a side channel (``ExecResult.channel``);
        ``read_only`` files cannot be changed by the command."""

    def read(self, path: str) -> str: ...

    def write(self, path: str, text: str) -> str: ...

    def exists(self, path: str) -> bool: ...

    def list(self, suffix: str = "") -> list[str]:
        """Every regular file of the workspace (no hidden ones), sorted."""

    def delete(self, path: str) -> None: ...

    def snapshot(self, suffix: str = "") -> dict[str, str]:
        """The workspace's ``suffix`` files, path -> text."""

    def restore(self, files: Mapping[str, str], suffix: str = "") -> None:
        """Make the workspace's ``suffix`` files exactly ``files``."""

    def fork(self) -> Executor:
        """A new executor, isolated alike, over a copy of this workspace (a test run that must not touch the
        agent's files); the caller closes it."""

    def close(self) -> None:
        """Remove the workspace and everything the executor started."""
