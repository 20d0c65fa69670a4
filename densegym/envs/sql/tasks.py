"""Tasks: a question, its gold SQL and the database it is asked of.

Bundled tasks are generated: ``gen:SCHEMA:ROWS:DBSEED:TEMPLATE:QSEED`` names the database
``(SCHEMA, ROWS, DBSEED)`` and the question drawn by ``TEMPLATE`` with ``QSEED``; the id alone reproduces the
task. ``bundled_task_ids()`` lists 5 schemas x 23 templates x 12 question seeds = 1,380 tasks (over 1,100 distinct questions).
"""

from __future__ import annotations

import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path

from densegym import resources
from densegym.envs.sql.materialize import ensure_sqlite
from densegym.envs.sql.questions import DIFFICULTIES, TEMPLATES, realize
from densegym.envs.sql.schemas import SCHEMAS

QUESTIONS_PER_TEMPLATE = 12


@dataclass(frozen=True)
class Database:
    """Either a generated database ``(schema, rows, seed)`` or an existing SQLite file (``path``)."""

    schema: str | None = None
    rows: int = 0
    seed: int = 0
    path: str | None = None

    @property
    def key(self) -> str:
        return self.path or f"{self.schema}:{self.rows}:{self.seed}"

    @property
    def generated(self) -> bool:
        return self.path is None


@dataclass(frozen=True)
class SQLTask:
    id: str
    question: str
    gold_sql: str
    db: Database
    difficulty: str = "unknown"
    template: str = ""
    # Whether row order matters; None (the default): the env reads it from the gold query (a top-level
    # ORDER BY, ``questions.is_ordered``).
    ordered: bool | None = None
    evidence: str = ""  # BIRD's external knowledge, shown with the question


def generated_task_id(schema: str, rows: int, db_seed: int, template: str, qseed: int) -> str:
    return f"gen:{schema}:{rows}:{db_seed}:{template}:{qseed}"


def parse_generated_task_id(task_id: str) -> tuple[str, int, int, str, int]:
    parts = task_id.split(":")
    if len(parts) != 6 or parts[0] != "gen":
        raise ValueError(f"not a generated SQL task id: {task_id!r} (expected gen:SCHEMA:ROWS:DBSEED:TEMPLATE:QSEED)")
    _, schema, rows, db_seed, template, qseed = parts
    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r} in {task_id!r}; known: {', '.join(SCHEMAS)}")
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r} in {task_id!r}; known: {', '.join(TEMPLATES)}")
    try:
        return schema, int(rows), int(db_seed), template, int(qseed)
    except ValueError:
        raise ValueError(f"ROWS, DBSEED and QSEED must be integers in {task_id!r}") from None


def bundled_task_ids(
    rows: int = 1000,
    db_seed: int = 0,
    *,
    schemas: list[str] | None = None,
    difficulties: list[str] | None = None,
    per_template: int = QUESTIONS_PER_TEMPLATE,
) -> list[str]:
    for d in difficulties or ():
        if d not in DIFFICULTIES:
            raise ValueError(f"unknown difficulty {d!r}; known: {', '.join(DIFFICULTIES)}")
    for s in schemas or ():
        if s not in SCHEMAS:
            raise ValueError(f"unknown schema {s!r}; known: {', '.join(SCHEMAS)}")
    return [
        generated_task_id(s, rows, db_seed, name, q)
        for s in (schemas or list(SCHEMAS))
        for name, (difficulty, _) in TEMPLATES.items()
        if difficulties is None or difficulty in difficulties
        for q in range(per_template)
    ]


_realized = resources.cache("sql.generated_tasks", maxsize=4096)  # thread-safe


def generated_task(task_id: str, cache: Path | None = None, max_rows: int = 10_000) -> SQLTask:
    """The task named by a generated id (realized once per process, then cached)."""
    task = _realized.get(task_id)
    if task is not None:
        return task
    schema, rows, db_seed, template, qseed = parse_generated_task_id(task_id)
    path = ensure_sqlite(schema, rows, db_seed, cache)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        seed = [zlib.crc32(schema.encode()), rows, db_seed, list(TEMPLATES).index(template), qseed]
        q = realize(SCHEMAS[schema], template, con, seed, max_rows)
    finally:
        con.close()
    task = SQLTask(task_id, q.text, q.gold_sql, Database(schema, rows, db_seed), q.difficulty, template, q.ordered)
    _realized.put(task_id, task)
    return task
