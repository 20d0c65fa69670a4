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
    """One spelling per query up to comments, whitespace, keyword case and identifier case (for
    ``redundancy``): sqlglot's parse regenerated in the dialect without comments, or, when sqlglot cannot
    parse it, the text with its whitespace collapsed."""
    tree = _tree(sql, dialect)
    if tree is None:
        return _WS.sub(" ", sql.strip())
    return tree.sql(dialect=dialect, normalize=True, comments=False)


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


def _names_read(node: exp.Expression) -> set[str]:
    """The unqualified table names ``node`` reads, less the CTEs it defines inside itself."""
    local = {c.alias_or_name.lower() for c in node.find_all(exp.CTE)}
    return {t.name.lower() for t in node.find_all(exp.Table)
            if t.name and isinstance(t.this, exp.Identifier) and not t.db} - local


def cte_steps(sql: str, dialect: str, tables: dict[str, dict[str, str]] | list[str]) -> tuple[list[str], int]:
    """Reward-SQL's chain of CTEs, counting only steps that carry weight: ``(queries, n_ctes)``.

    For ``WITH c1 AS (...), ..., ck AS (...) q``, ``n_ctes`` is k and ``queries`` holds, for each CTE that
    counts, "the first i CTEs, then one row of ci" (a step is verified by executing it). A CTE counts when
    the final query depends on it (reads it, or reads a CTE that reads it, transitively) and it reads at
    least one of the database's tables (``tables``), directly or through the CTEs it reads. A CTE the final
    query never reads, or one built from constants alone (``a AS (SELECT 1)``), is not a step of the answer.
    When the final query only passes one CTE through (``SELECT * FROM g``), that CTE *is* the final query:
    it is neither a step nor counted in ``n_ctes``, so wrapping an answer in a CTE earns nothing.
    """
    tree = _tree(sql, dialect)
    if tree is None:
        return [], 0
    with_ = tree.args.get("with") or tree.args.get("with_")
    if not isinstance(with_, exp.With):
        return [], 0
    ctes = list(with_.expressions)
    names = [c.alias_or_name.lower() for c in ctes]
    real = {t.lower() for t in tables}
    reads_cte: list[set[int]] = []
    reads_real: list[bool] = []
    for i, cte in enumerate(ctes):
        read = _names_read(cte.this)
        visible = {n: k for k, n in enumerate(names[: i + 1])}  # a CTE sees those before it (and itself)
        reads_cte.append({visible[n] for n in read if n in visible and visible[n] != i})
        reads_real.append(any(n in real and n not in visible for n in read))
    final = tree.copy()
    final.set("with", None)
    final.set("with_", None)
    frontier = [names.index(n) for n in _names_read(final) if n in names]
    passed_through = _passed_through(final)
    answer = names.index(passed_through) if passed_through in names else None
    used: set[int] = set()
    while frontier:
        k = frontier.pop()
        if k not in used:
            used.add(k)
            frontier.extend(reads_cte[k])

    def grounded(k: int, seen: frozenset = frozenset()) -> bool:
        return reads_real[k] or any(grounded(d, seen | {k}) for d in reads_cte[k] if d not in seen)

    head = "WITH RECURSIVE " if with_.args.get("recursive") else "WITH "
    out = []
    for i, cte in enumerate(ctes):
        if i in used and i != answer and grounded(i):
            defs = ", ".join(c.sql(dialect=dialect) for c in ctes[: i + 1])
            name = exp.to_identifier(cte.alias_or_name).sql(dialect=dialect)
            out.append(f"{head}{defs} SELECT 1 FROM {name} LIMIT 1")
    return out, len(ctes) - (answer is not None)


def _passed_through(final: exp.Expression) -> str | None:
    """The CTE name in a final query of the form ``SELECT * FROM name`` (nothing else), else None."""
    if not isinstance(final, exp.Select) or len(final.expressions) != 1 or not isinstance(final.expressions[0], exp.Star):
        return None
    if any(final.args.get(k) for k in ("joins", "where", "group", "having", "order", "limit", "offset", "distinct", "qualify")):
        return None
    source = final.args.get("from") or final.args.get("from_")
    table = source.this if source is not None else None
    return table.name.lower() if isinstance(table, exp.Table) and not table.db else None


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
