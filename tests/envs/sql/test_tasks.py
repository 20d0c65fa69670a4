"""Bundled tasks: enough of them, graded, deterministic, and every gold query right on every backend."""

from __future__ import annotations

import collections

import pytest

from densegym.envs.sql import SQLEnv, bundled_task_ids
from densegym.envs.sql.backends import Limits, open_backend
from densegym.envs.sql.match import results_match
from densegym.envs.sql.materialize import ensure_duckdb, ensure_postgres, ensure_sqlite
from densegym.envs.sql.questions import DIFFICULTIES, TEMPLATES
from densegym.envs.sql.schemas import SCHEMAS, generate_rows, table_sizes
from densegym.envs.sql.tasks import generated_task, parse_generated_task_id

IDS = bundled_task_ids()


def test_at_least_a_thousand_tasks_over_five_schemas_and_four_difficulties():
    assert len(IDS) >= 1000 and len(set(IDS)) == len(IDS)
    assert {parse_generated_task_id(i)[0] for i in IDS} == set(SCHEMAS) and len(SCHEMAS) >= 5
    by_difficulty = collections.Counter(TEMPLATES[parse_generated_task_id(i)[3]][0] for i in IDS)
    assert set(by_difficulty) == set(DIFFICULTIES) and min(by_difficulty.values()) >= 100
    assert bundled_task_ids(difficulties=["extra"], schemas=["school"]) == [
        i for i in IDS if i.startswith("gen:school:") and TEMPLATES[i.split(":")[4]][0] == "extra"]
    with pytest.raises(ValueError, match="unknown difficulty"):
        bundled_task_ids(difficulties=["trivial"])


def test_questions_are_varied_and_the_gold_sql_covers_every_construct(sql_cache):
    tasks = [generated_task(i, sql_cache) for i in IDS]
    assert len({t.question for t in tasks}) >= 1000
    assert len({t.gold_sql for t in tasks}) >= 0.7 * len(tasks)  # phrasings of one query are distinct tasks
    sql = " ".join(t.gold_sql for t in tasks)
    for construct in ("JOIN", "GROUP BY", "HAVING", "NOT IN (SELECT", "INTERSECT", "EXCEPT", "UNION",
                      "OVER (", "WITH ", "ORDER BY", "AVG(", "BETWEEN", "IS NULL AND", "CASE WHEN"):
        assert construct in sql, construct
    # The same template phrases its question in more than one way.
    first_words = {t.question.split()[0] for t in tasks if t.template == "select_filter"}
    assert len(first_words) >= 2


def test_the_gold_sql_of_every_bundled_task_gets_outcome_1(sql_cache):
    env = SQLEnv(cache_dir=sql_cache)
    try:
        for task_id in IDS:
            env.reset(options={"task": task_id})
            _, _, terminated, _, info = env.step(f"<answer>{env.task.gold_sql}</answer>")
            assert terminated and info["outcome"] == 1.0 and info["success"], task_id
            assert info["reward_components"]["outcome"] == 1.0
    finally:
        env.close()


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_gold_results_agree_on_every_backend(kind, sql_cache, request):
    """Each bundled gold query runs on DuckDB and PostgreSQL and matches its SQLite result."""
    if kind == "duckdb":
        request.getfixturevalue("need_duckdb")
    else:
        admin = request.getfixturevalue("pg_admin")
    backends = {}
    try:
        for task_id in IDS:
            task = generated_task(task_id, sql_cache)
            schema = task.db.schema
            if schema not in backends:
                other = ensure_duckdb(schema, 1000, 0, sql_cache) if kind == "duckdb" else ensure_postgres(
                    admin, schema, 1000, 0)
                backends[schema] = (open_backend("sqlite", ensure_sqlite(schema, 1000, 0, sql_cache), Limits()),
                                    open_backend(kind, other, Limits()))
            reference, backend = backends[schema]
            expected, got = reference.run(task.gold_sql), backend.run(task.gold_sql)
            assert expected.rows and not got.truncated
            assert results_match(got.rows, expected.rows, ordered=task.ordered), task_id
    finally:
        for pair in backends.values():
            for b in pair:
                b.close()


def test_same_seed_same_database_other_seed_other_database():
    a, b = generate_rows("hospital", 2000, 7), generate_rows("hospital", 2000, 7)
    assert a == b
    assert generate_rows("hospital", 2000, 8) != a
    assert generate_rows("hospital", 2000, 7)["patients"] == a["patients"]


def test_foreign_keys_hold_and_sizes_scale(tmp_path):
    """One larger database (100k rows): every foreign key resolves, and sizes follow ``rows``."""
    import sqlite3

    path = ensure_sqlite("flights", 100_000, 0, tmp_path)
    sizes = table_sizes(SCHEMAS["flights"], 100_000)
    assert 95_000 <= sum(sizes.values()) <= 105_000
    con = sqlite3.connect(path)
    try:
        for table in SCHEMAS["flights"].tables:
            assert con.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone()[0] == sizes[table.name]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        nulls = con.execute("SELECT COUNT(*) FROM flights WHERE delay_minutes IS NULL").fetchone()[0]
        assert 0 < nulls < sizes["flights"]
    finally:
        con.close()


def test_task_ids_reproduce_tasks_and_bad_ids_are_explained(sql_cache):
    task = generated_task("gen:library:500:3:top_k:4", sql_cache)
    again = generated_task("gen:library:500:3:top_k:4", sql_cache)
    assert task == again and task.ordered and "ORDER BY" in task.gold_sql
    assert generated_task("gen:library:500:4:top_k:4", sql_cache).db.seed == 4
    for bad, message in [("gen:zoo:500:0:top_k:1", "unknown schema"), ("gen:library:500:0:nope:1", "unknown template"),
                         ("gen:library:x:0:top_k:1", "must be integers"), ("library", "not a generated")]:
        with pytest.raises(ValueError, match=message):
            parse_generated_task_id(bad)
