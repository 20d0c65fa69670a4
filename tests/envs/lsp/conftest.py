"""One real language server (inside one env) shared by the LSP tests: starting one costs seconds."""

from __future__ import annotations

import pytest

from tests.helpers import require


def _require_server():
    from densegym.envs.lsp.servers import server_available

    require(server_available("basedpyright"), "the basedpyright language server", "pip install 'densegym[lsp]'")


def _require_bwrap():
    from densegym.sandbox import bubblewrap_path

    require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")


@pytest.fixture(scope="session")
def lsp_env():
    _require_server()
    _require_bwrap()
    from densegym.envs.lsp import LSPCodeEnv

    env = LSPCodeEnv(test_timeout_s=8, server_timeout_s=10, use_bubblewrap=True)
    yield env
    env.close()

