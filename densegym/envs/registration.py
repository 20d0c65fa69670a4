"""The env registry: every densegym id, registered with a string entry point so `import densegym` stays cheap."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym


@dataclass(frozen=True)
class EnvInfo:
    id: str
    entry_point: str
    family: str
    summary: str
    kwargs: dict[str, Any] = field(default_factory=dict)


_SOKOBAN = "densegym.envs.sokoban.env:SokobanEnv"
_SQL = "densegym.envs.sql.env:SQLEnv"
_LSP = "densegym.envs.lsp.env:LSPCodeEnv"

ENVS: tuple[EnvInfo, ...] = (
    EnvInfo("densegym/Sokoban-v0", _SOKOBAN, "sokoban", "generated levels; any size via dim_room/num_boxes/difficulty"),
    EnvInfo("densegym/Sokoban-small-v0", _SOKOBAN, "sokoban", "6x6, 2 boxes", {"dim_room": (6, 6), "num_boxes": 2}),
    EnvInfo("densegym/Sokoban-medium-v0", _SOKOBAN, "sokoban", "8x8, 3 boxes", {"dim_room": (8, 8), "num_boxes": 3}),
    EnvInfo(
        "densegym/Sokoban-boxoban-v0", _SOKOBAN, "sokoban", "10x10, 4 boxes (Boxoban size)",
        {"dim_room": (10, 10), "num_boxes": 4},
    ),
    EnvInfo(
        "densegym/SQL-v0", _SQL, "sql",
        "1,380 generated text-to-SQL tasks, 5 schemas; SQLite (DuckDB, PostgreSQL via backend=)",
    ),
    EnvInfo(
        "densegym/LSPCode-v0", _LSP, "lsp",
        "308 defective Python packages, 6 domains, difficulty 1-3; basedpyright language server",
    ),
    EnvInfo(
        "densegym/LSPCode-easy-v0", _LSP, "lsp", "the 88 difficulty-1 packages (one defect each)",
        {"difficulty": 1},
    ),
)


def register_all() -> None:
    for env in ENVS:
        if env.id not in gym.registry:
            gym.register(id=env.id, entry_point=env.entry_point, kwargs=dict(env.kwargs), disable_env_checker=True)
