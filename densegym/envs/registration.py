"""The env registry: every densegym id, registered with a string entry point so `import densegym` stays cheap."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym


@dataclass(frozen=True)
class Family:
    """What `densegym list` shows of a family without importing it: the modules its extra provides and its
    reward components with their default weights, in the env's order (a test checks them against the envs)."""

    name: str
    package: str
    requires: tuple[str, ...]
    rewards: tuple[tuple[str, float], ...]


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "sokoban", "densegym.envs.sokoban", (),
            (("progress", 1.0), ("optimal", 0.0), ("deadlock", 0.0), ("format", 0.1), ("outcome", 1.0)),
        ),
        Family(
            "sql", "densegym.envs.sql", ("sqlglot",),
            (("execution", 0.1), ("schema", 0.1), ("progress", 0.5), ("cte_steps", 0.1), ("redundancy", 0.1),
             ("format", 0.1), ("outcome", 1.0)),
        ),
        Family(
            "lsp", "densegym.envs.lsp", ("lsprotocol", "pygls"),
            (("diagnostics", 0.5), ("safety", 0.4), ("ambiguity", 0.1), ("tests", 1.0), ("outcome", 1.0),
             ("format", 0.1)),
        ),
        Family(
            "web", "densegym.envs.web", ("playwright", "starlette", "uvicorn"),
            (("subgoals", 1.0), ("format", 0.1), ("outcome", 1.0)),
        ),
        Family(
            "search", "densegym.envs.search", ("bm25s",),
            (("retrieval", 0.5), ("redundancy", 0.1), ("format", 0.1), ("outcome", 1.0)),
        ),
        Family(
            "swe", "densegym.envs.swe", ("pytest",),
            (("tests", 1.0), ("regression", 0.5), ("localization", 0.2), ("format", 0.1), ("outcome", 1.0),
             ("level", 0.0)),
        ),
    )
}


@dataclass(frozen=True)
class EnvInfo:
    id: str
    entry_point: str
    family: str
    summary: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def rewards(self) -> tuple[tuple[str, float], ...] | None:
        """The reward components and their default weights, in the env's order (without importing the env);
        ``None`` for a family without an entry in :data:`FAMILIES` (then only the env itself knows)."""
        family = FAMILIES.get(self.family)
        return family.rewards if family else None

    def unavailable(self) -> str | None:
        """Why the env cannot be made here (its family's extra is missing: the family's own message), else None.
        Imports nothing when the extra's modules are found."""
        family = FAMILIES.get(self.family)
        if family is None or all(_findable(m) for m in family.requires):
            return None
        try:
            importlib.import_module(family.package)
        except ImportError as exc:
            return str(exc)
        return None


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


_SOKOBAN = "densegym.envs.sokoban.env:SokobanEnv"
_SQL = "densegym.envs.sql.env:SQLEnv"
_LSP = "densegym.envs.lsp.env:LSPCodeEnv"
_SEARCH = "densegym.envs.search.env:SearchQAEnv"
_WEBSHOP = "densegym.envs.web.env:WebShopEnv"
_WEBFORMS = "densegym.envs.web.forms_env:WebFormsEnv"
_SWE = "densegym.envs.swe.env:SWEEnv"

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
    EnvInfo(
        "densegym/WebShop-v0", _WEBSHOP, "web",
        "WebShop-style shopping in Chromium: 1,200 generated products, search, filters, options, cart, checkout",
    ),
    EnvInfo(
        "densegym/WebForms-v0", _WEBFORMS, "web",
        "multi-page forms in Chromium: booking, settings, appointment; validation, dependent fields, dialogs",
    ),
    EnvInfo(
        "densegym/SearchQA-v0", _SEARCH, "search",
        "multi-hop questions (1-4 hops) over a generated 50,000-document world; bm25s (retriever=: dense, hybrid, URL)",
    ),
    EnvInfo(
        "densegym/SearchQA-small-v0", _SEARCH, "search", "the same over a 5,000-document world", {"num_docs": 5000},
    ),
    EnvInfo(
        "densegym/SWE-v0", _SWE, "swe",
        "issues in 6 real Python repositories, 300+ bugs validated by their test suites; Docker or bubblewrap",
    ),
    EnvInfo(
        "densegym/SWE-bash-v0", _SWE, "swe", "the same with mini-swe-agent's bash-only actions",
        {"action_format": "bash"},
    ),
    EnvInfo(
        "densegym/SWE-easy-v0", _SWE, "swe", "the single-mutation tasks (difficulty 1-2)", {"difficulty": (1, 2)},
    ),
)


def register_all() -> None:
    for env in ENVS:
        if env.id not in gym.registry:
            gym.register(id=env.id, entry_point=env.entry_point, kwargs=dict(env.kwargs), disable_env_checker=True)
