"""What sqlglot tells about a query without running it: canonical form, unknown names, its CTE chain."""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify

from densegym.envs.sql.guard import parse

_WS = re.compile(r"\s+")
_CATALOG_PREFIXES = ("sqlite_", "pg_", "duckdb_", "information_schema")


def _tree(sql: str, dialect: str) -> exp.Expression | None:
    try:
        statements = parse(sql, dialect)
    except SqlglotError:
        return None
    return statements[0] if len(statements) == 1 else None


def canonical(sql: str, dialect: str) -> str:
    """One spelling per query up to whitespace, keyword case and identifier case (for ``redundancy``)."""
    tree = _tree(sql, dialect)
    return _WS.sub(" ", sql.strip()) if tree is None else tree.sql(dialect=dialect, normalize=True)


def has_quoted_identifiers(sql: str, dialect: str) -> bool:
    tree = _tree(sql, dialect)
    return tree is None or any(i.quoted for i in tree.find_all(exp.Identifier))


def unknown_names(sql: str, dialect: str, tables: dict[str, dict[str, str]]) -> list[str]:
    """Tables and columns ``sql`` references that the database does not have (``[]`` when all exist).

    Catches what some databases let through silently, e.g. SQLite reading ``"nme"`` as the string 'nme'
    when no column ``nme`` exists. A query sqlglot cannot analyse gets the benefit of the doubt.
    """
    tree = _tree(sql, dialect)
    if tree is None:
        return []
    known = {t.lower() for t in tables}
    if any(t.name.lower().startswith(_CATALOG_PREFIXES) for t in tree.find_all(exp.Table)):
        return []  # the database's own catalog (sqlite_master, pg_tables, duckdb_tables()): exploring is fine
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    missing = sorted({
        t.name for t in tree.find_all(exp.Table)
        if t.name and isinstance(t.this, exp.Identifier) and t.name.lower() not in known | ctes
        and not t.db  # schema-qualified names (information_schema.tables, pg_catalog...) are the database's own
    })
    if missing:
        return [f"table {name}" for name in missing]
    schema = {t.lower(): {c.lower(): typ for c, typ in cols.items()} for t, cols in tables.items()}
    try:
        qualify(tree.copy(), schema=schema, dialect=dialect, validate_qualify_columns=True, quote_identifiers=False)
    except SqlglotError as exc:
        message = str(exc)
        if "could not be resolved" in message or "Unknown column" in message or "Column" in message:
            return [f"column: {message.splitlines()[0]}"]
        return []
    except Exception:  # noqa: BLE001 - sqlglot's optimizer raises assorted errors on corner cases
        return []
    return []


def cte_prefixes(sql: str, dialect: str) -> list[str]:
    """For ``WITH c1 AS (...), ..., ck AS (...) q``: the queries "the first i CTEs, then one row of ci".

    Reward-SQL's chain of CTEs treats each CTE as one reasoning step; a step is verified by executing it.
    """
    tree = _tree(sql, dialect)
    if tree is None:
        return []
    with_ = tree.args.get("with") or tree.args.get("with_")
    if not isinstance(with_, exp.With):
        return []
    ctes = list(with_.expressions)
    head = "WITH RECURSIVE " if with_.args.get("recursive") else "WITH "
    out = []
    for i, cte in enumerate(ctes):
        defs = ", ".join(c.sql(dialect=dialect) for c in ctes[: i + 1])
        out.append(f"{head}{defs} SELECT 1 FROM {exp.to_identifier(cte.alias_or_name).sql(dialect=dialect)} LIMIT 1")
    return out


def tables_in(sql: str, dialect: str) -> list[str]:
    tree = _tree(sql, dialect)
    if tree is None:
        return []
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    out = []
    for t in tree.find_all(exp.Table):
        if t.name and t.name.lower() not in ctes and t.name not in out:
            out.append(t.name)
    return out
