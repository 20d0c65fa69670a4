"""Question templates: each turns a schema and a seeded random draw into a question and its gold SQL.

Templates are generic over the schema metadata (``schemas.py``): labels, categories, numbers, dates and
foreign keys. Constants in a question (a category value, a threshold, a month) are drawn from the actual
database, so that the gold result is never empty, and ordered questions are only kept when the ordering
has no ties (otherwise two correct queries could disagree on the order). The gold SQL is written in the
portable subset that SQLite, DuckDB and PostgreSQL all run with the same result.

Difficulty grades: ``easy`` (selection, one aggregate), ``medium`` (joins, group-by, having, top-k,
union), ``hard`` (nesting, intersect/except, join + group + order) and ``extra`` (window functions,
chains of CTEs).
"""

from __future__ import annotations

import calendar
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from densegym.envs.sql.schemas import Column, Schema, Table


@dataclass(frozen=True)
class Question:
    text: str
    gold_sql: str
    template: str
    difficulty: str
    ordered: bool


class Unfit(Exception):
    """This draw does not fit the template (no eligible table, empty or tied result): draw again."""


def lit(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def num_text(value) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


class Draw:
    """One attempt at a question: the rng, the schema and read access to the database contents."""

    def __init__(self, schema: Schema, con: sqlite3.Connection, rng: np.random.Generator, max_rows: int):
        self.schema, self.con, self.rng, self.max_rows = schema, con, rng, max_rows

    def pick(self, items):
        items = list(items)
        if not items:
            raise Unfit("nothing to pick from")
        return items[int(self.rng.integers(len(items)))]

    def phrase(self, *options: str, **fields) -> str:
        return self.pick(options).format(**fields)

    def tables(self, *need: str) -> list[Table]:
        return [t for t in self.schema.tables if all(t.of_kind(k) for k in need)]

    def links(self, parent_needs=("label",), child_needs=()) -> list[tuple[Table, Table, Column]]:
        """(parent, child, fk column) for every foreign key whose tables have the needed column kinds."""
        out = []
        for child in self.schema.tables:
            if not all(child.of_kind(k) for k in child_needs):
                continue
            for col in child.of_kind("fk"):
                parent = self.schema.table(col.ref)
                if all(parent.of_kind(k) for k in parent_needs):
                    out.append((parent, child, col))
        return out

    def values(self, table: Table, col: Column) -> list:
        rows = self.con.execute(
            f"SELECT {col.name} FROM {table.name} WHERE {col.name} IS NOT NULL GROUP BY {col.name} ORDER BY {col.name}"
        ).fetchall()
        return [r[0] for r in rows]

    def quantile(self, table: Table, col: Column, lo: float, hi: float):
        rows = [r[0] for r in self.con.execute(
            f"SELECT {col.name} FROM {table.name} WHERE {col.name} IS NOT NULL ORDER BY {col.name}")]
        if not rows:
            raise Unfit("no values")
        return rows[int(len(rows) * float(self.rng.uniform(lo, hi)))]

    def check(self, sql: str, *, min_rows: int = 1) -> list[tuple]:
        rows = self.con.execute(sql).fetchall()
        if len(rows) < min_rows or len(rows) >= self.max_rows:
            raise Unfit(f"{len(rows)} rows")
        return rows

    def distinct_top(self, table: Table, col: Column, k: int, desc: bool, where: str = "") -> None:
        """Unfit unless the first k+1 values of ``col`` in that order are all distinct (no ties)."""
        cond = f"{col.name} IS NOT NULL" + (f" AND {where}" if where else "")
        vals = [r[0] for r in self.con.execute(
            f"SELECT {col.name} FROM {table.name} WHERE {cond} ORDER BY {col.name} {'DESC' if desc else 'ASC'} "
            f"LIMIT {k + 1}")]
        if len(vals) < k or len(set(vals)) < len(vals):
            raise Unfit("ties")


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _name(t: Table) -> str:
    return t.label.name


def _label_phrase(t: Table) -> str:
    return t.label.phrase


# ---- easy ----------------------------------------------------------------------------------------


def select_filter(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("label", "category"))
    c = d.pick(t.of_kind("category"))
    v = d.pick(d.values(t, c))
    sql = f"SELECT {_name(t)} FROM {t.name} WHERE {c.name} = {lit(v)}"
    text = d.phrase(
        "List the {lp} of every {s} whose {cp} is {v}.",
        "Which {p} have {v} as their {cp}? Give their {lp}.",
        "Show the {lp} of all {p} with {cp} '{v}'.",
        lp=_label_phrase(t), s=t.singular, p=t.plural, cp=c.phrase, v=v)
    return text, sql


def numeric_filter(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("label", "number"))
    c = d.pick(t.of_kind("number"))
    v = d.quantile(t, c, 0.7, 0.95)
    sql = f"SELECT {_name(t)}, {c.name} FROM {t.name} WHERE {c.name} > {lit(v)}"
    text = d.phrase(
        "Which {p} have a {cp} above {v}? Return each one's {lp} and {cp}.",
        "Find the {lp} and {cp} of the {p} whose {cp} is greater than {v}.",
        "Give the {lp} and the {cp} for every {s} with {cp} over {v}.",
        p=t.plural, s=t.singular, cp=c.phrase, lp=_label_phrase(t), v=num_text(v))
    return text, sql


def count_filter(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("category"))
    c = d.pick(t.of_kind("category"))
    v = d.pick(d.values(t, c))
    sql = f"SELECT COUNT(*) FROM {t.name} WHERE {c.name} = {lit(v)}"
    text = d.phrase("How many {p} have {cp} {v}?", "Count the {p} whose {cp} is {v}.",
                    "What is the number of {p} with {cp} '{v}'?", p=t.plural, cp=c.phrase, v=v)
    return text, sql


def date_month(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("date"))
    c = d.pick(t.of_kind("date"))
    day = d.pick(d.values(t, c))
    year, month = int(day[:4]), int(day[5:7])
    last = calendar.monthrange(year, month)[1]
    lo, hi = f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{last:02d}"
    sql = f"SELECT COUNT(*) FROM {t.name} WHERE {c.name} BETWEEN {lit(lo)} AND {lit(hi)}"
    text = d.phrase("How many {p} have a {cp} in {m} {y}?", "Count the {p} whose {cp} falls in {m} {y}.",
                    p=t.plural, cp=c.phrase, m=calendar.month_name[month], y=year)
    return text, sql


def aggregate_stats(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("category", "number"))
    c, n = d.pick(t.of_kind("category")), d.pick(t.of_kind("number"))
    v = d.pick(d.values(t, c))
    sql = f"SELECT MIN({n.name}), MAX({n.name}), AVG({n.name}) FROM {t.name} WHERE {c.name} = {lit(v)}"
    text = d.phrase(
        "What are the lowest, highest and average {np} of {p} with {cp} {v}?",
        "For {p} whose {cp} is {v}, give the minimum, the maximum and the mean {np}.",
        p=t.plural, cp=c.phrase, np=n.phrase, v=v)
    return text, sql


# ---- medium --------------------------------------------------------------------------------------


def top_k(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("label", "number"))
    n = d.pick(t.of_kind("number"))
    k, desc = int(d.rng.integers(3, 8)), bool(d.rng.random() < 0.7)
    d.distinct_top(t, n, k, desc)
    sql = (f"SELECT {_name(t)}, {n.name} FROM {t.name} WHERE {n.name} IS NOT NULL "
           f"ORDER BY {n.name} {'DESC' if desc else 'ASC'} LIMIT {k}")
    word = "highest" if desc else "lowest"
    text = d.phrase(
        "Which {k} {p} have the {w} {np}? List {lp} and {np}, {w} first.",
        "Show the {lp} and {np} of the {k} {p} with the {w} {np}, ordered from the {w}.",
        k=k, p=t.plural, w=word, np=n.phrase, lp=_label_phrase(t))
    return text, sql


def group_count(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("category"))
    c = d.pick(t.of_kind("category"))
    numbers = t.of_kind("number")
    if not numbers or d.rng.random() < 0.3:
        sql = f"SELECT {c.name}, COUNT(*) FROM {t.name} GROUP BY {c.name}"
        text = d.phrase("For each {cp}, how many {p} are there?", "Count the {p} per {cp}.",
                        "Give every {cp} together with its number of {p}.", cp=c.phrase, p=t.plural)
        return text, sql
    n = d.pick(numbers)
    v = d.quantile(t, n, 0.1, 0.9)
    sql = f"SELECT {c.name}, COUNT(*) FROM {t.name} WHERE {n.name} < {lit(v)} GROUP BY {c.name}"
    text = d.phrase("For each {cp}, how many {p} have a {np} below {v}?",
                    "Count the {p} with {np} under {v}, per {cp}.", cp=c.phrase, p=t.plural, np=n.phrase,
                    v=num_text(v))
    return text, sql


def group_having(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("category", "number"))
    c, n = d.pick(t.of_kind("category")), d.pick(t.of_kind("number"))
    counts = sorted(r[0] for r in d.con.execute(f"SELECT COUNT(*) FROM {t.name} GROUP BY {c.name}"))
    if len(counts) < 3 or counts[0] == counts[-1]:
        raise Unfit("groups too even")
    k = d.pick([x for x in counts[1:] if x > counts[0]])
    sql = f"SELECT {c.name}, AVG({n.name}) FROM {t.name} GROUP BY {c.name} HAVING COUNT(*) >= {k}"
    text = d.phrase(
        "Which {cp} values have at least {k} {p}, and what is the average {np} of each?",
        "For every {cp} shared by {k} or more {p}, give the {cp} and the mean {np}.",
        cp=c.phrase, k=k, p=t.plural, np=n.phrase)
    return text, sql


def join_count(d: Draw) -> tuple[str, str]:
    parent, child, fk = d.pick(d.links(parent_needs=("category",)))
    c = d.pick(parent.of_kind("category"))
    v = d.pick(d.values(parent, c))
    sql = (f"SELECT COUNT(*) FROM {child.name} JOIN {parent.name} "
           f"ON {child.name}.{fk.name} = {parent.name}.{parent.pk.name} WHERE {parent.name}.{c.name} = {lit(v)}")
    text = d.phrase(
        "How many {cp_} are linked to a {ps} whose {cp} is {v}?",
        "Count the {cp_} whose {fp} has {cp} {v}.",
        cp_=child.plural, ps=fk.phrase, fp=fk.phrase, cp=c.phrase, v=v)
    return text, sql


def join_filter(d: Draw) -> tuple[str, str]:
    parent, child, fk = d.pick(d.links(parent_needs=("label",), child_needs=("number",)))
    n = d.pick(child.of_kind("number"))
    v = d.quantile(child, n, 0.9, 0.99)
    sql = (f"SELECT DISTINCT {parent.name}.{_name(parent)} FROM {parent.name} JOIN {child.name} "
           f"ON {child.name}.{fk.name} = {parent.name}.{parent.pk.name} WHERE {child.name}.{n.name} > {lit(v)}")
    text = d.phrase(
        "List the distinct {lp} of {pp} that have at least one {cs} with {np} above {v}.",
        "Which {pp} (by {lp}, without repeats) appear as the {fp} of some {cs} whose {np} exceeds {v}?",
        lp=_label_phrase(parent), pp=parent.plural, cs=child.singular, np=n.phrase, v=num_text(v), fp=fk.phrase)
    return text, sql


def union_filter(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("label", "category", "number"))
    c, n = d.pick(t.of_kind("category")), d.pick(t.of_kind("number"))
    v, x = d.pick(d.values(t, c)), d.quantile(t, n, 0.9, 0.99)
    sql = (f"SELECT {_name(t)} FROM {t.name} WHERE {c.name} = {lit(v)} "
           f"UNION SELECT {_name(t)} FROM {t.name} WHERE {n.name} > {lit(x)}")
    text = d.phrase(
        "Give the distinct {lp} of {p} that either have {cp} {v} or a {np} above {x}.",
        "Which {lp} values belong to {p} with {cp} '{v}' or with {np} greater than {x}? No duplicates.",
        lp=_label_phrase(t), p=t.plural, cp=c.phrase, v=v, np=n.phrase, x=num_text(x))
    return text, sql


# ---- hard ----------------------------------------------------------------------------------------


def join_group_having(d: Draw) -> tuple[str, str]:
    parent, child, fk = d.pick(d.links())
    counts = sorted(r[0] for r in d.con.execute(
        f"SELECT COUNT(*) FROM {child.name} WHERE {fk.name} IS NOT NULL GROUP BY {fk.name}"))
    if len(counts) < 5:
        raise Unfit("too few groups")
    k = counts[int(len(counts) * float(d.rng.uniform(0.85, 0.97)))]
    p, c = parent.name, child.name
    sql = (f"SELECT {p}.{_name(parent)}, COUNT(*) FROM {p} JOIN {c} ON {c}.{fk.name} = {p}.{parent.pk.name} "
           f"GROUP BY {p}.{parent.pk.name}, {p}.{_name(parent)} HAVING COUNT(*) >= {k}")
    text = d.phrase(
        "For each {ps} with at least {k} {cp_}, give its {lp} and its number of {cp_}.",
        "Which {pp} have {k} or more {cp_}? Show each one's {lp} and how many {cp_} it has.",
        ps=fk.phrase, pp=parent.plural, k=k, cp_=child.plural, lp=_label_phrase(parent))
    return text, sql


def join_sum_top(d: Draw) -> tuple[str, str]:
    parent, child, fk = d.pick(d.links(child_needs=("number",)))
    n = d.pick(child.of_kind("number"))
    k = int(d.rng.integers(3, 6))
    p, c = parent.name, child.name
    sql = (f"SELECT {p}.{_name(parent)}, SUM({c}.{n.name}) AS total FROM {p} JOIN {c} "
           f"ON {c}.{fk.name} = {p}.{parent.pk.name} WHERE {c}.{n.name} IS NOT NULL "
           f"GROUP BY {p}.{parent.pk.name}, {p}.{_name(parent)} ORDER BY total DESC LIMIT {k}")
    totals = [r[0] for r in d.con.execute(sql.replace(f"LIMIT {k}", f"LIMIT {k + 1}").replace(
        f"SELECT {p}.{_name(parent)}, SUM", "SELECT SUM"))]
    if len(totals) <= k or None in totals or len({round(x, 6) for x in totals}) < len(totals):
        raise Unfit("ties")
    text = d.phrase(
        "Which {k} {pp} have the largest total {np} over their {cp_}? Give {lp} and total, largest first.",
        "Rank the {pp} by the sum of the {np} of their {cp_} and show the top {k} ({lp} and total, descending).",
        k=k, pp=parent.plural, np=n.phrase, cp_=child.plural, lp=_label_phrase(parent))
    return text, sql


def above_average(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("label", "category", "number"))
    c, n = d.pick(t.of_kind("category")), d.pick(t.of_kind("number"))
    v = d.pick(d.values(t, c))
    sql = (f"SELECT {_name(t)}, {n.name} FROM {t.name} WHERE {c.name} = {lit(v)} AND {n.name} > "
           f"(SELECT AVG({n.name}) FROM {t.name} WHERE {c.name} = {lit(v)})")
    text = d.phrase(
        "Among {p} with {cp} {v}, which have a {np} above the average {np} of that group? Give {lp} and {np}.",
        "List the {lp} and {np} of the {p} whose {cp} is {v} and whose {np} exceeds the mean for {cp} {v}.",
        p=t.plural, cp=c.phrase, v=v, np=n.phrase, lp=_label_phrase(t))
    return text, sql


def without_child(d: Draw) -> tuple[str, str]:
    parent, child, fk = d.pick(d.links(child_needs=("category",)))
    cc = d.pick(child.of_kind("category"))
    v = d.pick(d.values(child, cc))
    sql = (f"SELECT {_name(parent)} FROM {parent.name} WHERE {parent.pk.name} NOT IN "
           f"(SELECT {fk.name} FROM {child.name} WHERE {fk.name} IS NOT NULL AND {cc.name} = {lit(v)})")
    text = d.phrase(
        "Which {pp} have no {cp_} with {ccp} {v}? Give their {lp}.",
        "List the {lp} of every {ps} that is not the {fp} of any {cs} whose {ccp} is {v}.",
        pp=parent.plural, ps=parent.singular, cp_=child.plural, cs=child.singular, ccp=cc.phrase, v=v,
        lp=_label_phrase(parent), fp=fk.phrase)
    return text, sql


def _two_values(d: Draw, table: Table, col: Column) -> tuple:
    values = d.values(table, col)
    if len(values) < 2:
        raise Unfit("one value")
    i, j = d.rng.choice(len(values), size=2, replace=False)
    return values[int(i)], values[int(j)]


def _set_op(d: Draw, op: str) -> tuple[Table, Table, Column, Column, object, object, str]:
    parent, child, fk = d.pick(d.links(child_needs=("category",)))
    cc = d.pick(child.of_kind("category"))
    a, b = _two_values(d, child, cc)
    p, c = parent.name, child.name
    part = (f"SELECT {p}.{_name(parent)} FROM {p} JOIN {c} ON {c}.{fk.name} = {p}.{parent.pk.name} "
            f"WHERE {c}.{cc.name} = ")
    return parent, child, fk, cc, a, b, f"{part}{lit(a)} {op} {part}{lit(b)}"


def intersect(d: Draw) -> tuple[str, str]:
    parent, child, fk, cc, a, b, sql = _set_op(d, "INTERSECT")
    text = d.phrase(
        "Which {lp} values belong to {pp} having both a {cs} with {ccp} {a} and one with {ccp} {b}?",
        "Find the distinct {lp} of {pp} that appear with {cp_} of {ccp} {a} as well as {cp_} of {ccp} {b}.",
        lp=_label_phrase(parent), pp=parent.plural, cs=child.singular, cp_=child.plural, ccp=cc.phrase, a=a, b=b)
    return text, sql


def except_(d: Draw) -> tuple[str, str]:
    parent, child, fk, cc, a, b, sql = _set_op(d, "EXCEPT")
    text = d.phrase(
        "Which {lp} values belong to {pp} with some {cs} of {ccp} {a} but to none with a {cs} of {ccp} {b}?",
        "List the distinct {lp} found among {pp} with {cp_} whose {ccp} is {a}, excluding any {lp} found among "
        "{pp} with {cp_} whose {ccp} is {b}.",
        lp=_label_phrase(parent), pp=parent.plural, cs=child.singular, cp_=child.plural, ccp=cc.phrase, a=a, b=b)
    return text, sql


# ---- extra ---------------------------------------------------------------------------------------


def window_top_per_group(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("label", "category", "number"))
    c, n = d.pick(t.of_kind("category")), d.pick(t.of_kind("number"))
    k, desc = int(d.rng.integers(1, 4)), bool(d.rng.random() < 0.6)
    sql = (f"SELECT {c.name}, {_name(t)}, {n.name} FROM (SELECT {c.name}, {_name(t)}, {n.name}, "
           f"RANK() OVER (PARTITION BY {c.name} ORDER BY {n.name} {'DESC' if desc else 'ASC'}) AS rnk "
           f"FROM {t.name} WHERE {n.name} IS NOT NULL) AS ranked WHERE rnk <= {k}")
    word = "highest" if desc else "lowest"
    which = f"the {word} {n.phrase}" if k == 1 else f"one of the {k} {word} values of {n.phrase}"
    text = d.phrase(
        "For each {cp}, which {p} have {which} within that {cp} (ties included)? Give the {cp}, the {lp} and "
        "the {np}.",
        "Within every {cp}, rank the {p} by {np} ({w} first, ties sharing a rank) and keep ranks up to {k}: "
        "show {cp}, {lp} and {np}.",
        cp=c.phrase, p=t.plural, which=which, np=n.phrase, lp=_label_phrase(t), w=word, k=k)
    return text, sql


def window_share(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("category", "number"))
    c, n = d.pick(t.of_kind("category")), d.pick(t.of_kind("number"))
    v = d.quantile(t, n, 0.2, 0.8)
    sql = (f"SELECT {c.name}, COUNT(*) AS n, 100.0 * COUNT(*) / SUM(COUNT(*)) OVER () AS pct "
           f"FROM {t.name} WHERE {n.name} > {lit(v)} GROUP BY {c.name}")
    text = d.phrase(
        "Considering only {p} with {np} above {v}: for each {cp}, give the number of such {p} and its "
        "percentage of all of them.",
        "Of the {p} whose {np} exceeds {v}, what share (in percent) does each {cp} account for? Include the "
        "count too.",
        cp=c.phrase, p=t.plural, np=n.phrase, v=num_text(v))
    return text, sql


def cte_chain(d: Draw) -> tuple[str, str]:
    parent, child, fk = d.pick(d.links(child_needs=("number",)))
    n = d.pick(child.of_kind("number"))
    factor = d.pick([1.5, 2, 3])
    p, c = parent.name, child.name
    sql = (f"WITH totals AS (SELECT {fk.name} AS pid, SUM({n.name}) AS total FROM {c} "
           f"WHERE {fk.name} IS NOT NULL AND {n.name} IS NOT NULL GROUP BY {fk.name}) "
           f"SELECT {p}.{_name(parent)}, totals.total FROM totals JOIN {p} ON {p}.{parent.pk.name} = totals.pid "
           f"WHERE totals.total > {factor} * (SELECT AVG(total) FROM totals)")
    times = {1.5: "one and a half times", 2: "twice", 3: "three times"}[factor]
    text = d.phrase(
        "Which {pp} have a total {np} over their {cp_} of more than {x} the average total per {ps}? "
        "Give {lp} and total.",
        "Sum the {np} of the {cp_} of each {ps}; list the {lp} and sum of those whose sum exceeds {x} the "
        "average sum.",
        pp=parent.plural, ps=fk.phrase, np=n.phrase, cp_=child.plural, lp=_label_phrase(parent), x=times)
    return text, sql


def null_count(d: Draw) -> tuple[str, str]:
    options = [(t, c) for t in d.schema.tables for c in t.columns if c.null_rate > 0 and c.kind != "fk"]
    t, c = d.pick(options)
    filters = [f for f in t.of_kind("category") if f is not c]
    if not filters or d.rng.random() < 0.2:
        sql = f"SELECT COUNT(*) FROM {t.name} WHERE {c.name} IS NULL"
        text = d.phrase("How many {p} have no {cp} recorded?", "Count the {p} whose {cp} is missing (NULL).",
                        "For how many {p} is the {cp} unknown?", p=t.plural, cp=c.phrase)
        return text, sql
    f = d.pick(filters)
    v = d.pick(d.values(t, f))
    sql = f"SELECT COUNT(*) FROM {t.name} WHERE {c.name} IS NULL AND {f.name} = {lit(v)}"
    text = d.phrase("How many {p} with {fp} {v} have no {cp} recorded?",
                    "Among {p} whose {fp} is {v}, count those with a missing (NULL) {cp}.",
                    p=t.plural, cp=c.phrase, fp=f.phrase, v=v)
    return text, sql


def conditional_count(d: Draw) -> tuple[str, str]:
    t = d.pick(d.tables("category", "number"))
    c, n = d.pick(t.of_kind("category")), d.pick(t.of_kind("number"))
    v = d.quantile(t, n, 0.3, 0.8)
    sql = (f"SELECT {c.name}, SUM(CASE WHEN {n.name} > {lit(v)} THEN 1 ELSE 0 END) AS above, COUNT(*) AS total "
           f"FROM {t.name} GROUP BY {c.name}")
    text = d.phrase(
        "For each {cp}, how many {p} have a {np} above {v}, and how many {p} are there in all?",
        "Per {cp}, count the {p} with {np} greater than {v} next to the total number of {p}.",
        cp=c.phrase, p=t.plural, np=n.phrase, v=num_text(v))
    return text, sql


def three_table_join(d: Draw) -> tuple[str, str]:
    """Two parents of one child: parents of one kind linked through the child to parents of the other."""
    options = []
    for child in d.schema.tables:
        fks = child.of_kind("fk")
        for a in fks:
            for b in fks:
                pa, pb = d.schema.table(a.ref), d.schema.table(b.ref)
                if a is not b and pa is not pb and pa.label and pb.of_kind("category"):
                    options.append((child, a, pa, b, pb))
    child, a, pa, b, pb = d.pick(options)
    cb = d.pick(pb.of_kind("category"))
    v = d.pick(d.values(pb, cb))
    sql = (f"SELECT DISTINCT {pa.name}.{_name(pa)} FROM {pa.name} "
           f"JOIN {child.name} ON {child.name}.{a.name} = {pa.name}.{pa.pk.name} "
           f"JOIN {pb.name} ON {child.name}.{b.name} = {pb.name}.{pb.pk.name} WHERE {pb.name}.{cb.name} = {lit(v)}")
    text = d.phrase(
        "Which {pap} are linked through {cp_} to {bs} whose {cbp} is {v}? Give each distinct {lp}.",
        "List the distinct {lp} of {pap} that have {cs} involving {bs} with {cbp} {v}.",
        pap=pa.plural, cp_=child.plural, cs=_a(child.singular), bs=_a(b.phrase), cbp=cb.phrase, v=v,
        lp=_label_phrase(pa))
    return text, sql


Template = Callable[[Draw], tuple[str, str]]

# name -> (difficulty, function); the order is part of the task ids' meaning: append only.
TEMPLATES: dict[str, tuple[str, Template]] = {
    "select_filter": ("easy", select_filter),
    "numeric_filter": ("easy", numeric_filter),
    "count_filter": ("easy", count_filter),
    "date_month": ("easy", date_month),
    "aggregate_stats": ("easy", aggregate_stats),
    "top_k": ("medium", top_k),
    "group_count": ("medium", group_count),
    "group_having": ("medium", group_having),
    "join_count": ("medium", join_count),
    "join_filter": ("medium", join_filter),
    "union": ("medium", union_filter),
    "join_group_having": ("hard", join_group_having),
    "join_sum_top": ("hard", join_sum_top),
    "above_average": ("hard", above_average),
    "without_child": ("hard", without_child),
    "intersect": ("hard", intersect),
    "except": ("hard", except_),
    "window_top_per_group": ("extra", window_top_per_group),
    "window_share": ("extra", window_share),
    "cte_chain": ("extra", cte_chain),
    "null_count": ("easy", null_count),
    "conditional_count": ("medium", conditional_count),
    "three_table_join": ("hard", three_table_join),
}
DIFFICULTIES = ("easy", "medium", "hard", "extra")


def is_ordered(sql: str, dialect: str = "sqlite") -> bool:
    """Whether the query orders its result at the top level (a top-level ``ORDER BY``, of a SELECT or of a
    set operation), the rule densegym uses for order-sensitive matching (Spider looks for the words
    ``order by`` anywhere in the query)."""
    import sqlglot

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return " order by " in " ".join(sql.lower().split())
    while isinstance(tree, sqlglot.exp.Subquery) and tree.args.get("order") is None:
        tree = tree.this  # (SELECT ... ORDER BY ...) in parentheses
    return tree.args.get("order") is not None


def realize(schema: Schema, template: str, con: sqlite3.Connection, seed: list[int], max_rows: int,
            attempts: int = 60) -> Question:
    """The question of ``template`` drawn with ``seed`` (deterministic: the first fitting attempt)."""
    difficulty, fn = TEMPLATES[template]
    reasons = []
    for attempt in range(attempts):
        draw = Draw(schema, con, np.random.default_rng([*seed, attempt]), max_rows)
        try:
            text, sql = fn(draw)
            draw.check(sql)
        except Unfit as why:
            reasons.append(str(why))
            continue
        return Question(text, sql, template, difficulty, is_ordered(sql))
    raise RuntimeError(f"template {template!r} found no fitting question on {schema.name}: {reasons[:5]}")
