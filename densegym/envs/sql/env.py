"""``densegym/SQL-v0``: text-to-SQL on a real database with a verifiable reward on every turn."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from densegym.envs.base import ActionError, StepOutcome, TextEnv, extract_tag
from densegym.envs.sql.analysis import canonical, cte_steps, has_quoted_identifiers, tables_in, unknown_names
from densegym.envs.sql.backends import (Backend, Budget, Limits, QueryError, QueryRefused, QueryResult, QueryTimeout,
                                        open_backend)
from densegym.envs.sql.guard import check_query
from densegym.envs.sql.match import MatchTimeout, partial_match, results_match
from densegym.envs.sql.materialize import ensure_duckdb, ensure_postgres, ensure_sqlite
from densegym.envs.sql.questions import is_ordered
from densegym.envs.sql.rewards import SQLView, default_reward_set
from densegym.envs.sql.schemas import SCHEMAS
from densegym.envs.sql.tasks import Database, SQLTask, bundled_task_ids, generated_task
from densegym.rewards import RewardSet

_DIALECT_NAMES = {"sqlite": "SQLite", "duckdb": "DuckDB", "postgres": "PostgreSQL"}
_CELL_CHARS = 80


class SQLEnv(TextEnv):
    """Answer a natural-language question with SQL on a real database, exploring it first.

    ## Description

    Each task is a question, a database and a gold SQL query. The agent explores the database with
    queries and submits one final query; the submission is judged by execution match against the gold
    query's result (Spider's execution accuracy, see ``match.py``). Databases are generated from a seed
    (five schemas: retail, school, flights, hospital, library; 1k to 100k+ rows, foreign keys, NULLs) with
    1,380 bundled tasks over 23 templates at four difficulties, or loaded from a Spider/BIRD directory
    (``tasks="path/to/spider"``). The same database runs on SQLite (default), DuckDB or PostgreSQL.

    ## Actions

    Text. The env reads the last ``<sql>...</sql>`` or ``<answer>...</answer>`` block (whichever closes
    last). ``<sql>`` runs a query and shows its result; ``<answer>`` submits the final query and ends the
    episode. Only one read-only query is accepted: DDL, DML, ATTACH, PRAGMA, COPY, SET, several statements
    and file/settings functions are refused with a message (the database is opened read-only as well),
    and the state does not change. Every query runs under row/byte caps and the step's time budget.

    ## Observations

    Text. ``reset`` returns the instructions, the dialect, the tables with their columns and foreign keys,
    and the question. A ``<sql>`` step returns the row count, the column names and the first
    ``show_rows`` rows (cells cut at 80 characters), or the database's error message.

    ## Rewards

    Components (``info["reward_components"]``, unweighted; ``rewards={...}`` sets weights):

    | component | meaning | range | default weight |
    |---|---|---|---|
    | ``execution`` | -1 when the query failed (database error, time limit) | ``{-1, 0}`` | 0.1 |
    | ``schema`` | -1 when the query names a table/column that does not exist (sqlglot vs. the catalog) | ``{-1, 0}`` | 0.1 |
    | ``progress`` | potential-based change of ``phi`` = partial match of the latest result to the gold result | ``[-1, 1]`` | 0.5 |
    | ``cte_steps`` | on a correct submission: share of the answer's CTEs that the final query depends on, that read the database and that return a row (Reward-SQL), out of all its CTEs (a CTE that a bare ``SELECT * FROM cte`` passes through is the answer, not a step); else 0 | ``[0, 1]`` | 0.1 |
    | ``redundancy`` | -1 when a ``<sql>`` query already ran this episode (up to comments, whitespace and case); never the ``<answer>`` | ``{-1, 0}`` | 0.1 |
    | ``format`` | 0 accepted action, -1 no block or a refused statement | ``{-1, 0}`` | 0.1 |
    | ``outcome`` | 1 when the submitted query's result matches the gold result | ``{0, 1}`` | 1.0 |

    ``progress`` sums to ``phi(submitted result)`` over an episode (1 for a correct answer).

    Each step has one time budget (``time_limit_s``) shared by everything it runs: its query, the
    comparison of the result with the gold result (``match.py``, bounded by the same deadline) and a correct
    answer's CTE checks. What the budget does not reach is skipped and earns nothing: a comparison cut short
    leaves ``phi`` where it was on a ``<sql>`` turn and scores the answer as not correct (``phi`` 0), and
    unchecked CTEs count as failed. ``info`` tells: ``budget_spent``, ``skipped`` (comma-separated:
    ``outcome``, ``progress``, ``cte_steps``; empty when nothing was) and ``queries_run`` (queries the step ran).

    ## Starting state

    A task: ``gen:SCHEMA:ROWS:DBSEED:TEMPLATE:QSEED`` ids reproduce a generated task from the id alone;
    ``options={"task": id_or_SQLTask}`` picks one, otherwise the seed picks one of the env's tasks.

    ## Episode end

    Terminated by ``<answer>`` (``success`` when it matches). Truncated after ``max_turns`` turns.

    ## Arguments

    * ``backend``: ``"sqlite"`` (default), ``"duckdb"`` or ``"postgres"`` (needs ``postgres_dsn``, an admin
      conninfo, or ``$DENSEGYM_POSTGRES_DSN``; queries run as a read-only role it creates).
    * ``rows`` (1000), ``db_seed`` (0), ``schemas``, ``difficulties``: which bundled tasks.
    * ``tasks``: a Spider/BIRD directory, or a list of task ids / ``SQLTask``; replaces the bundled tasks.
    * ``time_limit_s`` (5): the time budget of one step, shared by all its queries and comparisons;
      ``max_rows`` (10,000), ``max_bytes`` (8 MB): per-query caps.
    * ``show_rows`` (20), ``show_schema`` (True), ``max_turns`` (10), ``rewards``, ``cache_dir``.

    ## Version history

    * v0: initial release.
    """

    supports_snapshot = True
    has_oracle = True
    default_max_turns = 10
    action_tag = "sql"

    def __init__(
        self,
        backend: str = "sqlite",
        rows: int = 1000,
        db_seed: int = 0,
        *,
        schemas: list[str] | None = None,
        difficulties: list[str] | None = None,
        tasks: str | Path | list[str | SQLTask] | None = None,
        postgres_dsn: str | None = None,
        time_limit_s: float = 5.0,
        max_rows: int = 10_000,
        max_bytes: int = 8_000_000,
        show_rows: int = 20,
        show_schema: bool = True,
        cache_dir: str | Path | None = None,
        max_turns: int | None = None,
        rewards: dict[str, Any] | None = None,
        render_mode: str | None = None,
    ):
        if backend not in _DIALECT_NAMES:
            raise ValueError(f"unknown SQL backend {backend!r}; known: {', '.join(_DIALECT_NAMES)}")
        self.backend_kind = backend
        self.postgres_dsn = postgres_dsn or os.environ.get("DENSEGYM_POSTGRES_DSN")
        if backend == "postgres" and not self.postgres_dsn:
            raise ValueError("backend='postgres' needs postgres_dsn= (an admin conninfo) or $DENSEGYM_POSTGRES_DSN")
        self.limits = Limits(float(time_limit_s), int(max_rows), int(max_bytes))
        self.show_rows, self.show_schema = int(show_rows), bool(show_schema)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.rows, self.db_seed = int(rows), int(db_seed)
        self.task_list: list[str | SQLTask] = self._task_list(tasks, schemas, difficulties)
        super().__init__(max_turns=max_turns, rewards=rewards, render_mode=render_mode)
        self._backends: dict[str, Backend] = {}
        self._gold: dict[str, QueryResult] = {}
        self._ordered: dict[str, bool] = {}
        self.backend: Backend | None = None
        self._seen: tuple[str, ...] = ()
        self._phi, self._answered = 0.0, False
        self._queries = 0
        self._last_obs = ""

    def _task_list(self, tasks, schemas, difficulties) -> list[str | SQLTask]:
        if tasks is None:
            return list(bundled_task_ids(self.rows, self.db_seed, schemas=schemas, difficulties=difficulties))
        if isinstance(tasks, (str, Path)):
            from densegym.envs.sql.spider import load_spider

            if self.backend_kind != "sqlite":
                raise ValueError("Spider/BIRD databases are SQLite files: use backend='sqlite'")
            out = list(load_spider(tasks))
        else:
            out = list(tasks)
        if not out:
            raise ValueError("the task list is empty")
        return out

    # ---- tasks --------------------------------------------------------------------------------

    def default_rewards(self) -> RewardSet:
        return default_reward_set()

    def sample_task(self, rng: np.random.Generator) -> SQLTask:
        return self.resolve_task(self.task_list[int(rng.integers(len(self.task_list)))])

    def resolve_task(self, spec: Any) -> SQLTask:
        if isinstance(spec, SQLTask):
            return spec
        if isinstance(spec, (int, np.integer)) and 0 <= int(spec) < len(self.task_list):
            return self.resolve_task(self.task_list[int(spec)])
        if isinstance(spec, str):
            if spec.startswith("gen:"):
                return generated_task(spec, self.cache_dir, self.limits.max_rows)
            for t in self.task_list:
                if isinstance(t, SQLTask) and t.id == spec:
                    return t
        raise ValueError(
            f"unknown SQL task {spec!r}: pass an SQLTask, a generated id 'gen:SCHEMA:ROWS:DBSEED:TEMPLATE:QSEED', "
            "or the id or index of one of the env's tasks"
        )

    def task_id(self, task: SQLTask) -> str:
        return task.id

    def _backend_for(self, db: Database) -> Backend:
        backend = self._backends.get(db.key)
        if backend is not None:
            return backend
        kind = self.backend_kind
        if not db.generated:
            target: str | Path = db.path
        elif kind == "sqlite":
            target = ensure_sqlite(db.schema, db.rows, db.seed, self.cache_dir)
        elif kind == "duckdb":
            target = ensure_duckdb(db.schema, db.rows, db.seed, self.cache_dir)
        else:
            target = ensure_postgres(self.postgres_dsn, db.schema, db.rows, db.seed)
        backend = self._backends[db.key] = open_backend(kind, target, self.limits)
        return backend

    def _prepare(self, task: SQLTask) -> None:
        self.backend = self._backend_for(task.db)
        if task.id not in self._gold:
            try:
                gold = self.backend.execute(check_query(task.gold_sql, self.backend.dialect))
            except (QueryError, QueryRefused) as exc:
                raise RuntimeError(f"the gold SQL of task {task.id} fails on {self.backend.name}: {exc}") from None
            if gold.truncated:  # no answer could ever match a result the caps cut short
                raise RuntimeError(f"the gold result of task {task.id} exceeds the row/byte caps "
                                   f"(max_rows={self.limits.max_rows}, max_bytes={self.limits.max_bytes}): raise them")
            self._gold[task.id] = gold
            # A task that does not say whether order matters takes it from its gold query (a top-level ORDER BY).
            self._ordered[task.id] = task.ordered if task.ordered is not None else is_ordered(
                task.gold_sql, self.backend.dialect)

    # ---- state --------------------------------------------------------------------------------

    def start(self, task: SQLTask) -> str:
        self._prepare(task)
        self._seen, self._phi, self._answered = (), 0.0, False
        name = _DIALECT_NAMES[self.backend.name]
        lines = [f"You answer a question about a {name} database by writing SQL ({name} dialect)."]
        if task.db.generated:
            lines.append(f"The database describes {SCHEMAS[task.db.schema].description}.")
        if self.show_schema:
            lines += ["", "Tables (foreign keys as -> table.column):", self._describe_tables()]
        lines += [
            "",
            f"Question: {task.question}",
        ]
        if task.evidence:
            lines.append(f"Hint: {task.evidence}")
        lines += [
            "",
            f"Explore with <sql>SELECT ...</sql>: the query runs and you see the row count, the column names and "
            f"up to {self.show_rows} rows, or the database's error. When you are sure, submit one final query "
            "with <answer>SELECT ...</answer>; that ends the episode and is judged by its result (same rows; "
            "row order matters only if the question asks for an order). The database is read-only: one SELECT "
            f"(or WITH ... SELECT) per block. You have {self.max_turns} turns.",
        ]
        self._last_obs = "\n".join(lines)
        return self._last_obs

    def _describe_tables(self) -> str:
        fks = self.backend.foreign_keys()
        lines = []
        for table, columns in self.backend.table_columns().items():
            cols = []
            for col, typ in columns.items():
                ref = fks.get((table, col))
                cols.append(f"{col} {typ.upper()}" + (f" -> {ref}" if ref else ""))
            lines.append(f"  {table}({', '.join(cols)})")
        return "\n".join(lines)

    def state_view(self) -> SQLView:
        return SQLView(frozenset(self._seen), self._phi, self._answered)

    def anchor(self) -> str:
        digest = hashlib.sha1("\n".join(sorted(self._seen)).encode()).hexdigest()[:16]
        return f"q{len(self._seen)}:{digest}" + (":answered" if self._answered else "")

    def save_state(self) -> tuple:
        return (self._seen, self._phi, self._answered, self._last_obs)

    def load_state(self, state: tuple) -> None:
        self._prepare(self.task)
        self._seen, self._phi, self._answered, self._last_obs = state

    def privileged(self) -> dict[str, Any]:
        task = self.task
        return {"gold_sql": task.gold_sql, "difficulty": task.difficulty, "template": task.template,
                "ordered": self._ordered[task.id], "phi": self._phi}

    # ---- actions ------------------------------------------------------------------------------

    def action_help(self) -> str:
        return ("Accepted: <sql>SELECT ...</sql> to run a query, or <answer>SELECT ...</answer> to submit "
                "your final query; one read-only SELECT / WITH query per block.")

    def parse_action(self, text: str) -> tuple[str, str]:
        lower = text.lower()
        kind = max(("sql", "answer"), key=lambda tag: lower.rfind(f"</{tag}>"))
        body = extract_tag(text, kind)
        if body is None:
            other = "answer" if kind == "sql" else "sql"
            body, kind = extract_tag(text, other), other
        if body is None:
            raise ActionError("no <sql>...</sql> or <answer>...</answer> block found")
        try:
            return kind, check_query(body, self.backend.dialect)
        except QueryRefused as exc:
            raise ActionError(f"query refused: {exc}") from None

    def _run(self, sql: str, budget: Budget, *, max_rows: int | None = None) -> QueryResult:
        """One query of this step, under what is left of the step's budget."""
        self._queries += 1
        return self.backend.execute(sql, max_rows=max_rows, time_s=budget.left())

    def apply_action(self, parsed: tuple[str, str]) -> StepOutcome:
        kind, sql = parsed
        backend, gold, ordered = self.backend, self._gold[self.task.id], self._ordered[self.task.id]
        # One time budget for everything this step runs: its query, the comparison with the gold result,
        # the answer's CTE checks. What the budget does not reach is skipped and earns nothing.
        budget, skipped = Budget(self.limits.time_s), []
        self._queries = 0
        try:
            result, error = self._run(sql, budget), None
        except QueryRefused as exc:
            raise ActionError(f"query refused: {exc}") from None
        except QueryError as exc:
            result, error = None, str(exc)
        key = canonical(sql, backend.dialect)
        info: dict[str, Any] = {
            "executed": error is None,
            "schema_ok": self._schema_ok(sql, error is None),
            # Submitting a query that already ran is the good habit of checking it first, not a repeat.
            "repeated": kind == "sql" and key in self._seen,
            "truncated": bool(result and result.truncated),
        }
        if key not in self._seen:
            self._seen = self._seen + (key,)
        matched, phi = False, (self._phi if kind == "sql" else 0.0)
        if result is not None and result.truncated:
            phi = 0.0
        elif result is not None:
            try:
                matched = results_match(result.rows, gold.rows, ordered=ordered, deadline=budget.deadline)
            except MatchTimeout:
                skipped += ["outcome", "progress"] if kind == "answer" else ["progress"]
            else:
                try:
                    phi = partial_match(result.rows, gold.rows, ordered=ordered, deadline=budget.deadline,
                                        matched=matched)
                except MatchTimeout:
                    skipped.append("progress")
        info["cte_steps"] = 0.0
        if kind == "answer" and matched:
            info["cte_steps"] = self._cte_score(sql, budget, skipped)
        info["budget_spent"] = bool(skipped) or (error is not None and budget.spent)
        info["skipped"] = ",".join(skipped)
        info["queries_run"] = self._queries
        if kind == "sql":
            self._phi = phi
            obs = self._show(result, error)
            if skipped:
                obs += "\n(the step's time budget ran out before this result was compared with the expected one)"
            self._last_obs = obs
            return StepOutcome(obs, info=info)

        self._phi = phi
        self._answered = True
        verdict = "correct: its result matches the expected result." if matched else (
            "not correct: its result differs from the expected result." if error is None
            else f"not correct: it failed with {error}")
        if "outcome" in skipped:
            verdict = "not judged correct: the step's time budget ran out before its result was compared."
        obs = f"Answer submitted. It is {verdict}"
        self._last_obs = obs
        return StepOutcome(obs, terminated=True, success=matched, outcome=1.0 if matched else 0.0, info=info)

    def _schema_ok(self, sql: str, executed: bool) -> bool:
        # A query that ran names only existing tables and columns, except in SQLite, which reads a
        # double-quoted name it cannot resolve as a string; only then, or after an error, ask sqlglot.
        backend = self.backend
        if executed and not (backend.name == "sqlite" and has_quoted_identifiers(sql, backend.dialect)):
            return True
        return not unknown_names(sql, backend.dialect, backend.table_columns())

    def _cte_score(self, sql: str, budget: Budget, skipped: list[str]) -> float:
        """``cte_steps`` of a correct answer: the share of its CTEs that count (the final query depends on
        them and they read the database, see ``analysis.cte_steps``) and execute with a row, out of all its
        CTEs, so that CTEs that do not carry the answer dilute the score instead of adding to it."""
        queries, n = cte_steps(sql, self.backend.dialect, self.backend.table_columns())
        ok = 0
        for query in queries:
            if budget.spent:
                skipped.append("cte_steps")
                break
            try:
                ok += bool(self._run(query, budget, max_rows=1).rows)
            except QueryTimeout:
                if budget.spent:
                    skipped.append("cte_steps")
                    break
            except (QueryError, QueryRefused):
                pass
        return ok / n if n else 0.0

    def _show(self, result: QueryResult | None, error: str | None) -> str:
        if error is not None:
            return f"Error: {error}"
        n = len(result.rows)
        count = f"at least {n:,} rows (the result was cut at the row/byte cap)" if result.truncated else (
            f"{n:,} row" + ("" if n == 1 else "s"))
        lines = [f"{count}; columns: {', '.join(result.columns) or '(none)'}"]
        if result.columns:
            lines.append(" | ".join(result.columns))
            lines += [" | ".join(_cell(v) for v in row) for row in result.rows[: self.show_rows]]
        if n > self.show_rows:
            lines.append(f"... {n - self.show_rows:,} more rows not shown")
        return "\n".join(lines)

    def random_action(self, rng: np.random.Generator) -> str:
        tables = list(self.backend.table_columns()) if self.backend else ["t"]
        table = tables[int(rng.integers(len(tables)))]
        choices = [f"<sql>SELECT * FROM {table} LIMIT 3</sql>", f"<sql>SELECT COUNT(*) FROM {table}</sql>",
                   f"<answer>SELECT * FROM {table}</answer>", "no block at all"]
        return choices[int(rng.integers(len(choices)))]

    def oracle_action(self) -> str:
        """Explore one table of the gold query first, then submit the gold SQL."""
        if not self._seen:
            tables = tables_in(self.task.gold_sql, "sqlite") or list(self.backend.table_columns())
            return f"<sql>SELECT * FROM {tables[0]} LIMIT 5</sql>"
        return f"<answer>{self.task.gold_sql}</answer>"

    def render_text(self) -> str:
        return self._last_obs

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
        self._backends.clear()
        self._gold.clear()
        self._ordered.clear()
        self.backend = None
        super().close()


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    text = repr(value) if isinstance(value, float) else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 3] + "..."
