"""Text-to-SQL on a real database (SQLite, DuckDB or PostgreSQL) with verifiable per-turn rewards.

Needs the ``sql`` extra: ``pip install 'densegym[sql]'``.
"""

try:
    import sqlglot  # noqa: F401 - the one dependency every backend needs (statement checks, schema reward)
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "densegym.envs.sql needs the 'sql' extra: pip install 'densegym[sql]'"
    ) from exc

from densegym.envs.sql.backends import Backend, QueryError, QueryRefused, QueryResult, open_backend
from densegym.envs.sql.env import SQLEnv
from densegym.envs.sql.match import partial_match, results_match
from densegym.envs.sql.tasks import SQLTask, bundled_task_ids

__all__ = [
    "Backend",
    "QueryError",
    "QueryRefused",
    "QueryResult",
    "SQLEnv",
    "SQLTask",
    "bundled_task_ids",
    "open_backend",
    "partial_match",
    "results_match",
]
