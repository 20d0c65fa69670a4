"""Load Spider- or BIRD-format question files that a user already has (no download).

Spider: ``ROOT/dev.json`` (or ``train_spider.json``...) with ``db_id``, ``question``, ``query``, and the
databases at ``ROOT/database/DB_ID/DB_ID.sqlite``. BIRD: ``ROOT/dev.json`` with ``db_id``, ``question``,
``SQL``, ``evidence``, ``difficulty``, and the databases at ``ROOT/dev_databases/DB_ID/DB_ID.sqlite``.
"""

from __future__ import annotations

import json
from pathlib import Path

from densegym.envs.sql.questions import is_ordered
from densegym.envs.sql.tasks import Database, SQLTask

_QUESTION_FILES = ("dev.json", "train_spider.json", "train.json", "test.json")
_DB_DIRS = ("database", "dev_databases", "train_databases", "test_database")


def load_spider(root: str | Path, questions: str | None = None) -> list[SQLTask]:
    """Tasks of the question file ``questions`` (default: the first of dev.json, train_spider.json, ...)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no Spider/BIRD directory at {root}")
    names = [questions] if questions else [n for n in _QUESTION_FILES if (root / n).is_file()]
    if not names or not (root / names[0]).is_file():
        raise FileNotFoundError(f"no question file ({', '.join(_QUESTION_FILES)}) in {root}")
    path = root / names[0]
    items = json.loads(path.read_text(encoding="utf-8"))
    tasks = []
    for i, item in enumerate(items):
        db_id = item["db_id"]
        sql = item.get("query") or item.get("SQL")
        if sql is None:
            raise ValueError(f"{path}: item {i} has neither 'query' (Spider) nor 'SQL' (BIRD)")
        db = _find_db(root, db_id)
        tasks.append(SQLTask(
            id=f"{path.stem}:{i}:{db_id}",
            question=item["question"],
            gold_sql=sql,
            db=Database(path=str(db)),
            difficulty=str(item.get("difficulty", item.get("hardness", "unknown"))),
            template=path.name,
            ordered=is_ordered(sql),
            evidence=item.get("evidence", ""),
        ))
    return tasks


def _find_db(root: Path, db_id: str) -> Path:
    for d in _DB_DIRS:
        candidate = root / d / db_id / f"{db_id}.sqlite"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"database {db_id!r} not found under {root} ({', '.join(_DB_DIRS)})")
