"""The first of two locks on the database: refuse anything but one read-only query, with a clear message.

The second lock is the database itself (a read-only SQLite URI plus an authorizer, a read-only DuckDB
connection without external access, a PostgreSQL role without write grants inside a READ ONLY
transaction). This module exists so that the agent learns *why* a statement was refused, and so that a
statement that would only be stopped by the second lock never reaches it; neither lock relies on the other.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.simplify import simplify

from densegym import resources

MAX_SQL_CHARS = 20_000

# Functions that read or write files, run programs, change settings or reach other databases. The database
# lock also stops them (no privilege, no external access); refusing them here gives a clear message.
FORBIDDEN_FUNCTIONS = frozenset(
    """
    load_extension readfile writefile edit fts3_tokenizer
    pg_read_file pg_read_binary_file pg_ls_dir pg_stat_file pg_ls_logdir pg_ls_waldir pg_ls_tmpdir
    lo_import lo_export lo_get lo_put lo_from_bytea dblink dblink_exec set_config pg_reload_conf
    pg_terminate_backend pg_cancel_backend pg_rotate_logfile pg_promote pg_file_write
    read_csv read_csv_auto read_parquet parquet_scan read_json read_json_auto read_json_objects
    read_ndjson read_text read_blob glob sqlite_scan sqlite_attach postgres_scan postgres_attach
    query query_table getenv set_variable install load
    """.split()
)

# Functions that build one value as large as an argument says; a literal beyond this is refused, so that
# repeat('x', 10**9) does not allocate a gigabyte inside the database before any cap applies.
SIZE_FUNCTIONS = frozenset("repeat replicate pad lpad rpad space randomblob zeroblob printf format".split())
MAX_SIZE_ARGUMENT = 10_000_000

_WRITE_NODES = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "AlterTable", "TruncateTable",
        "Command", "Pragma", "Attach", "Detach", "Copy", "Set", "Use", "Grant", "Revoke", "Transaction",
        "Commit", "Rollback", "LoadData", "Analyze", "Into",
    )
    if hasattr(exp, name)
)

_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_FIRST_WORD = re.compile(r"[A-Za-z_]+")
_QUERY_STARTS = ("select", "with", "values", "from", "table")  # FROM-first: DuckDB; TABLE t: PostgreSQL


class QueryRefused(ValueError):
    """The statement is not a single read-only query; the message says why and what is accepted."""


ACCEPTED = "Only one read-only query is accepted: SELECT ... or WITH ... SELECT ... (no ';'-separated statements)."


@resources.cached("sql.parsed_queries", maxsize=512)
def parse(sql: str, dialect: str) -> tuple[exp.Expression, ...]:
    """sqlglot's statements of ``sql``, cached: the guard, the redundancy and the schema checks of one
    action all read the same tree. Callers that change a tree must ``copy()`` it first."""
    return tuple(s for s in sqlglot.parse(sql, read=dialect) if s is not None)


def _check_size(node: exp.Func, name: str, dialect: str) -> None:
    """Refuse a value-building call whose size is a constant above the limit (after folding ``30000 * 30000``),
    or, outside SQLite (whose engine enforces a length limit of its own), a size that is not a constant."""
    folded = simplify(node.copy())
    for literal in folded.find_all(exp.Literal):
        if not literal.is_string:
            try:
                too_big = abs(float(literal.this)) > MAX_SIZE_ARGUMENT
            except ValueError:
                continue
            if too_big:
                raise QueryRefused(f"{name}() with a size above {MAX_SIZE_ARGUMENT:,} is not allowed.")
    size = folded.args.get("times") or folded.args.get("expression") if isinstance(folded, (exp.Repeat, exp.Pad)) else None
    if dialect != "sqlite" and size is not None and not isinstance(size, exp.Literal):
        raise QueryRefused(f"{name}() needs a constant size (at most {MAX_SIZE_ARGUMENT:,}) here.")


def _looks_like_a_file(table: exp.Table) -> bool:
    """DuckDB reads ``FROM 'data.csv'`` as a file (a replacement scan); no table here has such a name."""
    name = table.name
    return isinstance(table.this, exp.Literal) or any(ch in name for ch in "/\\.:")


def check_query(sql: str, dialect: str) -> str:
    """Return ``sql`` ready to run (trimmed, one trailing ';' removed) or raise :class:`QueryRefused`."""
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRefused(f"the query is {len(sql):,} characters long; at most {MAX_SQL_CHARS:,} are accepted.")
    if "\x00" in sql:
        raise QueryRefused("the query contains a NUL character.")
    text = sql.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if not text:
        raise QueryRefused(f"the query is empty. {ACCEPTED}")
    body = text[_LEADING_COMMENTS.match(text).end():].lstrip("(")
    word = _FIRST_WORD.match(body)
    first = word.group(0).lower() if word else body[:1]
    if first not in _QUERY_STARTS:
        raise QueryRefused(f"{first.upper() or 'this'} statements are refused: the database is read-only. {ACCEPTED}")
    try:
        statements = parse(text, dialect)
    except SqlglotError:
        # sqlglot does not know every corner of every dialect; the database parses it and its own
        # read-only lock still holds, so an unparsable query is left to the database to judge.
        return text
    if len(statements) > 1:
        raise QueryRefused(f"{len(statements)} statements given. {ACCEPTED}")
    if not statements:
        raise QueryRefused(f"the query is empty. {ACCEPTED}")
    root = statements[0]
    if not isinstance(root, (exp.Query, exp.Values)):
        raise QueryRefused(f"this {first.upper()} statement is not a query ({root.key}); the database is read-only. "
                           f"{ACCEPTED}")
    for node in root.walk():
        if isinstance(node, _WRITE_NODES):
            raise QueryRefused(
                f"the query contains a {node.key.upper()} clause; the database is read-only. {ACCEPTED}"
            )
        if isinstance(node, exp.Table) and _looks_like_a_file(node):
            raise QueryRefused(f"reading the file {node.name!r} is not allowed: query the database's tables.")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in FORBIDDEN_FUNCTIONS:
                raise QueryRefused(f"the function {name}() is not allowed (files, settings or other databases).")
            if name in SIZE_FUNCTIONS:
                _check_size(node, name, dialect)
    return text
