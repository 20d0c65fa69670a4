"""The Language-Server-backed coding family: ``densegym/LSPCode-v0``.

Needs the ``lsp`` extra (pygls, lsprotocol and a pinned basedpyright).
"""

try:
    import lsprotocol  # noqa: F401
    import pygls  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "densegym.envs.lsp needs the language-server extra: pip install 'densegym[lsp]'"
    ) from exc

from densegym.envs.lsp.env import LSPCodeEnv  # noqa: E402
from densegym.envs.lsp.rewards import lanser_reward  # noqa: E402
from densegym.envs.lsp.tasks import catalog, generate  # noqa: E402

__all__ = ["LSPCodeEnv", "catalog", "generate", "lanser_reward"]
