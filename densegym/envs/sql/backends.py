"""Three real databases behind one read-only query interface: SQLite, DuckDB and PostgreSQL.

Each backend holds one connection and runs one query at a time under three limits: a time limit (SQLite:
a progress handler; DuckDB: ``interrupt()`` from a timer; PostgreSQL: ``statement_timeout``), a cap on
rows and a cap on bytes fetched (rows are fetched in chunks, so a huge cross join or a runaway recursive
CTE is never materialised in Python). Every connection is read-only at the database level as well as
through :mod:`~densegym.envs.sql.guard`; see each class for how.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from densegym.envs.sql.guard import QueryRefused, check_query

_EXTRA = "pip install 'densegym[sql]'"


class QueryError(Exception):
    """The database rejected or aborted the query; the message is the database's own (or the limit hit)."""


class QueryTimeout(QueryError):
    pass


class Budget:
    """The time one env step may take, shared by everything the step runs: its query, the comparison of the
    result with the gold result, and the answer's CTE checks. Each query gets what is left of it
    (``execute(..., time_s=budget.left())``), and the comparisons check ``deadline``."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.deadline = time.monotonic() + self.seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def spent(self) -> bool:
        return self.left() <= 0.0


@dataclass(frozen=True)
class Limits:
    """Per-query limits. ``max_rows`` / ``max_bytes`` cap what is fetched; beyond them the result is truncated."""

    time_s: float = 5.0
    max_rows: int = 10_000
    max_bytes: int = 8_000_000


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool  # a row or byte cap cut the result short


def plain(value: Any) -> Any:
    """A database value as a plain, JSON-friendly Python value, the same whichever backend produced it."""
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        # An exact decimal stays exact (PostgreSQL's NUMERIC, DuckDB's DECIMAL): ``match`` compares it
        # exactly with integers and other decimals; NaN and infinities become floats.
        return value if value.is_finite() else float(value)
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (_dt.timedelta, uuid.UUID)):
        return str(value)
    return str(value)


def _row_bytes(row: tuple) -> int:
    return 8 * len(row) + sum(len(v) if isinstance(v, str) else 8 for v in row)


class Backend:
    """One read-only database connection. ``run(sql)`` checks and executes one query."""

    name: str = ""
    dialect: str = ""  # sqlglot's dialect name

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()

    def run(self, sql: str, *, max_rows: int | None = None, time_s: float | None = None) -> QueryResult:
        """Check ``sql`` (raises :class:`QueryRefused`) and execute it (raises :class:`QueryError`)."""
        return self.execute(check_query(sql, self.dialect), max_rows=max_rows, time_s=time_s)

    def execute(self, sql: str, *, max_rows: int | None = None, time_s: float | None = None) -> QueryResult:
        """Run ``sql`` under the limits; ``time_s`` lowers the time limit for this query (a step's budget)."""
        raise NotImplementedError

    def _time_limit(self, time_s: float | None) -> float:
        limit = self.limits.time_s if time_s is None else min(self.limits.time_s, time_s)
        if limit <= 0:
            raise QueryTimeout("the step's time budget was spent before this query could run")
        return limit

    def _timeout(self, limit: float) -> QueryTimeout:
        if limit < self.limits.time_s:
            return QueryTimeout(f"the query ran past the time limit of its step's remaining budget ({limit:.3g} s)")
        return QueryTimeout(f"the query ran past the time limit of {limit:g} s")

    # Subclasses read the catalog once, at connection time, before the connection is locked down.
    _tables: dict[str, dict[str, str]]
    _foreign_keys: dict[tuple[str, str], str]

    def table_columns(self) -> dict[str, dict[str, str]]:
        """``{table: {column: type}}`` of the user tables (what sqlglot's schema checks need)."""
        return {t: dict(c) for t, c in self._tables.items()}

    def foreign_keys(self) -> dict[tuple[str, str], str]:
        """``{(table, column): "referenced_table.referenced_column"}``."""
        return dict(self._foreign_keys)

    def close(self) -> None:
        raise NotImplementedError

    def _fetch(self, fetchmany, max_rows: int | None, deadline: float, limit: float) -> tuple[list[tuple], bool]:
        cap = self.limits.max_rows if max_rows is None else min(max_rows, self.limits.max_rows)
        rows: list[tuple] = []
        size, chunk = 0, 16
        while len(rows) <= cap:
            batch = fetchmany(min(chunk, cap + 1 - len(rows)))
            if not batch:
                return rows, False
            for raw in batch:
                row = tuple(plain(v) for v in raw)
                size += _row_bytes(row)
                if size > self.limits.max_bytes:
                    return rows, True
                rows.append(row)
            if time.monotonic() > deadline:
                raise self._timeout(limit)
            # Size the next batch so that it cannot overshoot the byte cap by much: wide rows come a few
            # at a time, narrow ones up to a thousand.
            room = (self.limits.max_bytes - size) / max(1.0, size / len(rows))
            chunk = int(max(1, min(1000, room / 2)))
        return rows[:cap], True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- SQLite ------------------------------------------------------------------------------------

# sqlite3's authorizer action codes that a read-only query needs; everything else is denied.
_SQLITE_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_SQLITE_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}


class SQLiteBackend(Backend):
    """SQLite through a ``mode=ro`` URI with ``query_only`` on and an authorizer that allows only reads.

    The progress handler aborts a query past its time limit (SQLite steps lazily, so the row cap alone
    already ends an infinite recursive CTE that streams rows; the time limit ends one that aggregates).
    """

    name, dialect = "sqlite", "sqlite"

    def __init__(self, path: str | Path, limits: Limits | None = None):
        super().__init__(limits)
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no SQLite database at {self.path}")
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        self.con = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        self.con.execute("PRAGMA query_only = ON")
        # No single string or blob beyond the byte cap: randomblob(10**9) fails at once instead of
        # allocating a gigabyte.
        self.con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max(1_000, self.limits.max_bytes))
        self._tables = self._read_tables()
        self.con.set_authorizer(self._authorize)
        self._deadline = float("inf")
        self.con.set_progress_handler(self._over_time, 2000)

    @staticmethod
    def _authorize(action, arg1, arg2, db_name, trigger):
        if action not in _SQLITE_ALLOWED:
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _SQLITE_DENIED_FUNCTIONS:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def _over_time(self) -> int:
        return 1 if time.monotonic() > self._deadline else 0

    def _read_tables(self) -> dict[str, dict[str, str]]:
        names = [r[0] for r in self.con.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )]
        tables = {t: {r[1]: (r[2] or "TEXT") for r in self.con.execute(f'PRAGMA table_info("{t}")')} for t in names}
        pks = {t: next((r[1] for r in self.con.execute(f'PRAGMA table_info("{t}")') if r[5] == 1), None) for t in names}
        self._foreign_keys = {
            (t, r[3]): f"{r[2]}.{r[4] or pks.get(r[2]) or 'rowid'}"
            for t in names for r in self.con.execute(f'PRAGMA foreign_key_list("{t}")')
        }
        return tables

    def execute(self, sql: str, *, max_rows: int | None = None, time_s: float | None = None) -> QueryResult:
        limit = self._time_limit(time_s)
        self._deadline = deadline = time.monotonic() + limit
        cur = self.con.cursor()
        try:
            cur.execute(sql)
            columns = tuple(d[0] for d in cur.description or ())
            rows, truncated = self._fetch(cur.fetchmany, max_rows, deadline, limit)
        except sqlite3.Error as exc:
            if time.monotonic() > deadline:
                raise self._timeout(limit) from None
            message = str(exc)
            if "not authorized" in message or "prohibited" in message:
                message += " (the database is read-only: only SELECT queries may run)"
            raise QueryError(message) from None
        except (OverflowError, MemoryError, ValueError) as exc:
            raise QueryError(f"{type(exc).__name__}: {exc}") from None
        finally:
            self._deadline = float("inf")
            cur.close()
        return QueryResult(columns, tuple(rows), truncated)

    def close(self) -> None:
        self.con.close()


# ---- DuckDB ------------------------------------------------------------------------------------


class DuckDBBackend(Backend):
    """DuckDB opened ``read_only`` with external access off (no files, no ATTACH, no extensions) and the
    configuration locked, so that no query can turn those back on. DuckDB's own parser confirms that the
    text is one SELECT statement. A timer calls ``interrupt()`` at the time limit."""

    name, dialect = "duckdb", "duckdb"

    def __init__(self, path: str | Path, limits: Limits | None = None, memory_limit: str = "1GB", threads: int = 2):
        super().__init__(limits)
        try:
            import duckdb
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(f"the DuckDB backend needs duckdb: {_EXTRA}") from exc
        self._duckdb = duckdb
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no DuckDB database at {self.path}")
        config = {
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": memory_limit,
            "threads": threads,
        }
        try:
            self.con = duckdb.connect(str(self.path), read_only=True, config=config)
        except duckdb.Error:
            # DuckDB shares one database instance per file within a process: a second env on the same file
            # joins the instance the first one opened and locked, and may not pass a config again.
            self.con = duckdb.connect(str(self.path), read_only=True)
        self._tables = self._read_tables()
        settings = "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
        if self.con.execute(settings).fetchone() == (False, False):
            self.con.execute("SET lock_configuration = true")
        if self.con.execute(settings).fetchone() != (False, True):
            self.con.close()
            raise RuntimeError(f"{self.path} is already open in this process without densegym's read-only lock")

    def _read_tables(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for table, column, dtype in self.con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall():
            out.setdefault(table, {})[column] = dtype
        self._foreign_keys = {
            (table, cols[0]): f"{ref}.{ref_cols[0]}"
            for table, cols, ref, ref_cols in self.con.execute(
                "SELECT table_name, constraint_column_names, referenced_table, referenced_column_names "
                "FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY' AND schema_name = 'main'"
            ).fetchall()
        }
        return out

    def execute(self, sql: str, *, max_rows: int | None = None, time_s: float | None = None) -> QueryResult:
        duckdb = self._duckdb
        limit = self._time_limit(time_s)
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            kinds = ", ".join(s.type.name for s in statements) or "nothing"
            raise QueryRefused(f"DuckDB reads this as {kinds}; only one SELECT statement may run.")
        deadline = time.monotonic() + limit
        # A cursor per query: closing it ends a result that the row cap left unfinished (an infinite
        # recursive CTE keeps running in the background otherwise and blocks the next query).
        cur = self.con.cursor()
        timer = threading.Timer(limit, cur.interrupt)
        timer.start()
        try:
            cur.execute(sql)
            columns = tuple(d[0] for d in cur.description or ())
            rows, truncated = self._fetch(cur.fetchmany, max_rows, deadline, limit)
        except duckdb.InterruptException:
            raise self._timeout(limit) from None
        except duckdb.Error as exc:
            if time.monotonic() > deadline:
                raise self._timeout(limit) from None
            raise QueryError(str(exc).split("\n\nLINE")[0]) from None
        except (OverflowError, MemoryError, ValueError) as exc:
            raise QueryError(f"{type(exc).__name__}: {exc}") from None
        finally:
            timer.cancel()
            cur.interrupt()  # stop what the row cap left running before closing, or close() waits for it
            cur.close()
        return QueryResult(columns, tuple(rows), truncated)

    def close(self) -> None:
        self.con.close()


# ---- PostgreSQL --------------------------------------------------------------------------------


class PostgresBackend(Backend):
    """PostgreSQL as a role that can only SELECT (see ``materialize.ensure_postgres``), every query in its
    own ``READ ONLY`` transaction with ``SET LOCAL statement_timeout``, run through a server-side cursor
    (``DECLARE ... CURSOR FOR`` accepts only queries) and rolled back afterwards, so that not even a
    ``set_config`` call in a SELECT outlives its query."""

    name, dialect = "postgres", "postgres"

    def __init__(self, conninfo: str, limits: Limits | None = None):
        super().__init__(limits)
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(f"the PostgreSQL backend needs psycopg: {_EXTRA}") from exc
        self._psycopg = psycopg
        self.con = psycopg.connect(conninfo, autocommit=False)
        self._n = 0
        with self.con.cursor() as cur:
            cur.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
            )
            self._tables: dict[str, dict[str, str]] = {}
            for table, column, dtype in cur.fetchall():
                self._tables.setdefault(table, {})[column] = dtype
            # pg_catalog, not information_schema: the latter hides constraints of tables the role does not own.
            cur.execute(
                "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname "
                "FROM pg_constraint c "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1] "
                "WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
            )
            self._foreign_keys = {(t, col): f"{ref}.{ref_col}" for t, col, ref, ref_col in cur.fetchall()}
        self.con.rollback()

    def execute(self, sql: str, *, max_rows: int | None = None, time_s: float | None = None) -> QueryResult:
        psycopg = self._psycopg
        limit = self._time_limit(time_s)
        deadline = time.monotonic() + limit
        ms = max(1, int(limit * 1000))
        self._n += 1
        try:
            self.con.execute("SET TRANSACTION READ ONLY")
            self.con.execute(f"SET LOCAL statement_timeout = {ms}")
            self.con.execute(f"SET LOCAL idle_in_transaction_session_timeout = {ms + 5000}")
            with self.con.cursor(name=f"densegym_q{self._n}") as cur:
                cur.execute(sql)
                columns = tuple(d.name for d in cur.description or ())
                rows, truncated = self._fetch(cur.fetchmany, max_rows, deadline, limit)
        except psycopg.errors.QueryCanceled:
            raise self._timeout(limit) from None
        except psycopg.Error as exc:
            diag = getattr(exc, "diag", None)
            message = (diag.message_primary if diag is not None and diag.message_primary else str(exc)).strip()
            raise QueryError(message) from None
        except (OverflowError, MemoryError, ValueError) as exc:
            raise QueryError(f"{type(exc).__name__}: {exc}") from None
        finally:
            if not self.con.closed:
                self.con.rollback()
        return QueryResult(columns, tuple(rows), truncated)

    def close(self) -> None:
        self.con.close()


def open_backend(kind: str, target: str | Path, limits: Limits | None = None) -> Backend:
    """``kind`` is ``sqlite`` or ``duckdb`` (``target``: a database file) or ``postgres`` (a conninfo)."""
    if kind == "sqlite":
        return SQLiteBackend(target, limits)
    if kind == "duckdb":
        return DuckDBBackend(target, limits)
    if kind == "postgres":
        return PostgresBackend(str(target), limits)
    raise ValueError(f"unknown SQL backend {kind!r}; known: sqlite, duckdb, postgres")


__all__ = [
    "Backend", "Budget", "DuckDBBackend", "Limits", "PostgresBackend", "QueryError", "QueryRefused", "QueryResult",
    "QueryTimeout", "SQLiteBackend", "open_backend", "plain",
]
