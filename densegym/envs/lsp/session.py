"""One long-lived language server over a workspace: documents kept in sync, restart on crash or hang.

Every ``.py`` file of the workspace is an open document, so the server analyses them from memory and
a change in one file is seen by the others at once. The server sees each file with its suppression
comments disarmed (``suppressions.py``): silencing the checker is not fixing the code. ``sync`` pushes the workspace's current contents
as incremental ``didChange`` notifications (with ``freshness="push"`` it also waits until the server
has published diagnostics for each new version); ``diagnostics`` returns the current, normalised
diagnostics of every file, pulled (or, for a server without pull support, the last pushed ones).

A server that dies or misses a deadline is killed (with its whole process group), started again, and
given every document afresh; the call is retried once and ``restarts`` says what happened, so that the
env can tell the agent and carry on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from densegym.envs.lsp.bundles import diagnostic_fact, sorted_diagnostics
from densegym.envs.lsp.client import LspClient, ServerFailure
from densegym.envs.lsp.servers import server_spec, server_version
from densegym.envs.lsp.suppressions import checker_text
from densegym.sandbox import Workspace

CONFIG_FILE = "pyrightconfig.json"
CHECKING_MODES = ("off", "basic", "standard", "strict", "recommended", "all")
R = TypeVar("R")


def checker_config(checking_mode: str) -> str:
    if checking_mode not in CHECKING_MODES:
        raise ValueError(f"checking_mode must be one of {CHECKING_MODES}, got {checking_mode!r}")
    # Hints (unused names, unreachable code) are not diagnostics the reward counts; the CLI omits them too.
    return json.dumps({"typeCheckingMode": checking_mode, "pythonVersion": "3.11"}, indent=2) + "\n"


class ServerSession:
    def __init__(
        self,
        workspace: Workspace,
        server: str = "basedpyright",
        *,
        timeout_s: float = 30.0,
        start_timeout_s: float = 120.0,
        freshness: str = "pull",
    ):
        if freshness not in ("pull", "push"):
            raise ValueError(f"freshness must be 'pull' or 'push', got {freshness!r}")
        self.ws = workspace
        self.spec = server_spec(server)
        # A server without pull diagnostics (pylsp) can only be waited on through its pushes.
        self.freshness = freshness if self.spec.pull_diagnostics else "push"
        self.timeout_s = float(timeout_s)
        self.start_timeout_s = float(start_timeout_s)
        self.restarts: list[str] = []
        self.client: LspClient | None = None
        self._start()

    @property
    def environment(self) -> dict[str, Any]:
        info = self.client.server_info if self.client else {}
        return {
            "server": self.spec.name,
            "serverVersion": info.get("version", ""),
            "versionLine": server_version(self.spec.name),
            "positionEncoding": "utf-16",
        }

    def _start(self) -> None:
        self.client = LspClient(self.ws.root, self.spec, timeout_s=self.timeout_s, start_timeout_s=self.start_timeout_s)
        for rel in self.ws.files(".py"):
            self.client.open(rel, checker_text(self.ws.read(rel)))
        if self.freshness == "push":  # the first diagnostics of every document, as a pull would give them
            for rel in self.client.docs:
                self.client.wait_published(rel, 1)

    def restart(self, reason: str) -> None:
        self.restarts.append(reason)
        if self.client is not None:
            self.client.close(polite=False)  # it just failed: no point waiting for a shutdown answer
        self._start()

    def call(self, fn: Callable[[LspClient], R]) -> R:
        """Run ``fn(client)``; on a server failure restart the server and try once more."""
        try:
            return fn(self.client)
        except ServerFailure as exc:
            self.restart(str(exc))
            return fn(self.client)

    def take_restart_notes(self) -> list[str]:
        notes, self.restarts = self.restarts, []
        return notes

    # ---- documents ----------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the server's documents in line with the workspace and wait for fresh diagnostics."""

        def push(client: LspClient) -> None:
            on_disk = {rel: checker_text(self.ws.read(rel)) for rel in self.ws.files(".py")}
            created = [r for r in on_disk if r not in client.docs]
            deleted = [r for r in client.docs if r not in on_disk]
            for rel in deleted:
                client.close_document(rel)
            for rel in created:
                client.open(rel, on_disk[rel])
            changed = []
            for rel, text in on_disk.items():
                if rel in created:
                    continue
                before = client.docs[rel][0]
                version = client.change(rel, text)
                if version != before:
                    changed.append((rel, version))
            client.files_changed(created, [r for r, _ in changed], deleted)
            if self.freshness == "push":
                for rel, version in changed:
                    client.wait_published(rel, version)
                for rel in created:
                    client.wait_published(rel, 1)

        self.call(push)

    def diagnostics(self) -> list[dict[str, Any]]:
        """Every error, warning and information diagnostic of every file, normalised and sorted."""

        def pull(client: LspClient) -> list[dict[str, Any]]:
            facts = []
            for rel in sorted(client.docs):
                # Pyright may re-publish a document's old diagnostics under its new version before the real
                # ones, so pushed lists are read only from servers that cannot be pulled from (pylsp).
                found = client.diagnostics(rel) if self.spec.pull_diagnostics else client.published_diagnostics.get(rel, [])
                facts.extend(diagnostic_fact(rel, d) for d in found if int(d.severity or 1) <= 3)
            return sorted_diagnostics(facts)

        return self.call(pull)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
