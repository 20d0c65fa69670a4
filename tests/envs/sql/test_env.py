"""SQL env semantics: rewards, determinism, snapshots, the oracle, each backend, Spider/BIRD loading."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from densegym.envs.sql import SQLEnv, SQLTask
from densegym.envs.sql.spider import load_spider

TASK = "gen:retail:300:0:numeric_filter:0"


@pytest.fixture
def env(sql_cache):
    e = SQLEnv(rows=300, cache_dir=sql_cache, max_turns=20)
    yield e
    e.close()


def _components(info):
    return info["reward_components"]


def test_the_oracle_explores_then_submits_and_progress_sums_to_one(env):
    obs, info = env.reset(options={"task": TASK})
    assert "Question:" in obs and "products(" in obs and "-> customers.customer_id" in obs
    assert info["privileged"]["gold_sql"] not in obs
    total, steps = 0.0, 0
    while True:
        _, _, term, trunc, info = env.step(env.oracle_action())
        total += _components(info)["progress"]
        steps += 1
        if term or trunc:
            break
    assert steps == 2 and term and info["success"] and info["outcome"] == 1.0
    assert total == pytest.approx(1.0)


def test_progress_is_potential_based_going_back_and_forth_earns_nothing(env):
    env.reset(options={"task": TASK})
    gold = env.task.gold_sql
    near = gold.replace("SELECT name, price", "SELECT name")  # one column right, the other missing
    actions = [f"<sql>{near}</sql>", "<sql>SELECT 1</sql>", f"<sql>{near}</sql>", "<sql>SELECT 1</sql>"]
    progress = [_components(env.step(a)[4])["progress"] for a in actions]
    assert progress[0] > 0 and progress[1] == -progress[0] and sum(progress) == pytest.approx(0.0)
    _, _, term, _, info = env.step(f"<answer>{gold}</answer>")
    assert term and _components(info)["progress"] == pytest.approx(1.0)


def test_execution_schema_and_redundancy_components(env):
    env.reset(options={"task": TASK})
    _, _, _, _, info = env.step("<sql>SELECT name FROM products</sql>")
    assert [_components(info)[k] for k in ("execution", "schema", "redundancy", "format")] == [0.0] * 4
    _, _, _, _, info = env.step("<sql>select   NAME from PRODUCTS ;</sql>")  # the same query, spelled otherwise
    assert _components(info)["redundancy"] == -1.0 and info["repeated"]
    obs, _, _, _, info = env.step('<sql>SELECT "nme" FROM products</sql>')  # SQLite reads "nme" as a string
    assert info["executed"] and _components(info)["execution"] == 0.0 and "nme" in obs
    assert _components(info)["schema"] == -1.0
    obs, _, _, _, info = env.step("<sql>SELECT name FROM product</sql>")
    assert obs.startswith("Error:") and "no such table" in obs
    assert _components(info)["execution"] == -1.0 and _components(info)["schema"] == -1.0
    _, _, _, _, info = env.step("<sql>SELECT name FROM sqlite_master</sql>")
    assert _components(info)["schema"] == 0.0  # the catalog may be explored


def test_cte_steps_scores_each_cte_of_a_correct_chain(env):
    env.reset(options={"task": TASK})
    gold = env.task.gold_sql
    chain = ("WITH cheap AS (SELECT * FROM products WHERE price < 0), named AS (SELECT name, price FROM products) "
             "SELECT * FROM named")
    _, _, term, _, info = env.step(f"<answer>{chain}</answer>")
    assert term and _components(info)["outcome"] == 0.0
    assert _components(info)["cte_steps"] == 0.0  # a wrong answer's CTEs earn nothing
    env.reset(options={"task": TASK})
    chain = (f"WITH cheap AS (SELECT * FROM products WHERE price < 0), g AS ({gold}) "
             "SELECT * FROM g WHERE NOT EXISTS (SELECT 1 FROM cheap)")
    _, _, term, _, info = env.step(f"<answer>{chain}</answer>")
    assert info["success"] and _components(info)["cte_steps"] == 0.5  # 'cheap' is empty, 'g' has rows
    env.reset(options={"task": TASK})
    _, _, _, _, info = env.step(f"<sql>WITH g AS ({gold}) SELECT * FROM g</sql>")
    assert _components(info)["cte_steps"] == 0.0  # only a submission is scored
    _, _, _, _, info = env.step(f"<answer>WITH g AS ({gold}) SELECT * FROM g</answer>")
    assert _components(info)["cte_steps"] == 0.0 and info["success"]  # g only wraps the answer: no step
    env.reset(options={"task": TASK})
    where = gold[gold.index("WHERE"):]
    chain = f"WITH o AS (SELECT * FROM products), g AS (SELECT name, price FROM o {where}) SELECT * FROM g"
    _, _, _, _, info = env.step(f"<answer>{chain}</answer>")
    assert _components(info)["cte_steps"] == 1.0 and info["success"]


def test_observation_shows_count_columns_and_truncates(env):
    env.reset(options={"task": TASK})
    obs, *_ = env.step("<sql>SELECT product_id AS id, name FROM products ORDER BY product_id</sql>")
    lines = obs.splitlines()
    assert lines[0].startswith("20 rows; columns: id, name") and lines[1] == "id | name"
    assert lines[2].startswith("1 | ") and len(lines) == 22
    obs, *_ = env.step("<sql>SELECT * FROM order_items</sql>")
    assert "more rows not shown" in obs
    obs, *_ = env.step("<sql>SELECT NULL AS missing, 1.5 AS x</sql>")
    assert obs.splitlines()[2] == "NULL | 1.5"


def test_wrong_and_failing_answers_end_the_episode_with_outcome_0(env):
    env.reset(options={"task": TASK})
    obs, reward, term, _, info = env.step("<answer>SELECT name FROM products</answer>")
    assert term and not info["success"] and info["outcome"] == 0.0 and "not correct" in obs
    env.reset(options={"task": TASK})
    obs, _, term, _, info = env.step("<answer>SELECT nope FROM products</answer>")
    assert term and not info["success"] and "failed" in obs and _components(info)["execution"] == -1.0
    assert info["privileged"]["phi"] == 0.0


def test_the_last_block_counts(env):
    env.reset(options={"task": TASK})
    gold = env.task.gold_sql
    _, _, term, _, _ = env.step(f"<answer>{gold}</answer> but first <sql>SELECT 1</sql>")
    assert not term
    _, _, term, _, info = env.step(f"thinking <sql>SELECT 1</sql> ... <ANSWER>{gold}</ANSWER>")
    assert term and info["success"]


def _episode(sql_cache, seed):
    env = SQLEnv(rows=300, cache_dir=sql_cache)
    rng = np.random.default_rng(5)
    obs, info = env.reset(seed=seed)
    trace = [obs, info["task_id"]]
    for _ in range(6):
        obs, r, term, trunc, info = env.step(env.random_action(rng))
        trace += [obs, r, info["reward_components"], info["anchor"]]
        if term or trunc:
            break
    env.close()
    return trace


def test_same_seed_same_task_observations_and_rewards(sql_cache):
    assert _episode(sql_cache, 3) == _episode(sql_cache, 3)
    assert _episode(sql_cache, 3) != _episode(sql_cache, 4)


def test_snapshot_restore_and_score_action(env):
    env.reset(options={"task": TASK})
    env.step("<sql>SELECT name FROM products</sql>")
    snap, anchor = env.snapshot(), env.anchor()
    actions = ["<sql>SELECT price FROM products</sql>", f"<answer>{env.task.gold_sql}</answer>"]
    first = [env.step(a)[:4] for a in actions]
    env.restore(snap)
    assert env.anchor() == anchor and env.turn == 1
    assert [env.step(a)[:4] for a in actions] == first
    env.restore(snap)
    reward, info = env.score_action(f"<answer>{env.task.gold_sql}</answer>")
    assert info["success"] and env.anchor() == anchor and env.turn == 1
    _, _, term, _, _ = env.step("<sql>SELECT 2</sql>")
    assert not term


def test_anchor_is_the_set_of_queries_run(env):
    env.reset(options={"task": TASK})
    env.step("<sql>SELECT 1</sql>")
    env.step("<sql>SELECT 2</sql>")
    a = env.anchor()
    env.reset(options={"task": TASK})
    env.step("<sql>SELECT 2</sql>")
    env.step("<sql>select 1</sql>")
    env.step("nonsense")
    assert env.anchor() == a


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_every_backend_runs_episodes(kind, sql_cache, request):
    if kind == "duckdb":
        request.getfixturevalue("need_duckdb")
        kwargs = {}
    else:
        kwargs = {"postgres_dsn": request.getfixturevalue("pg_admin")}
    env = SQLEnv(kind, rows=300, cache_dir=sql_cache, **kwargs)
    try:
        for task in ["gen:school:300:0:window_top_per_group:1", "gen:flights:300:0:join_sum_top:2", TASK]:
            obs, info = env.reset(options={"task": task})
            name = {"duckdb": "DuckDB", "postgres": "PostgreSQL"}[kind]
            assert f"({name} dialect)" in obs
            _, _, _, _, info = env.step(env.oracle_action())
            assert info["executed"]
            _, _, term, _, info = env.step(env.oracle_action())
            assert term and info["success"], task
        obs, _ = env.reset(options={"task": TASK})
        assert "customer_id INTEGER -> customers.customer_id" in obs  # foreign keys read from the catalog
        obs, _, _, _, info = env.step("<sql>SELECT nope FROM products</sql>")
        assert obs.startswith("Error:") and "nope" in obs
        assert _components(info)["schema"] == -1.0 and _components(info)["execution"] == -1.0
        _, _, _, _, info = env.step("<sql>SELECT name FROM products WHERE price > 'x'</sql>")  # a type error
        assert _components(info)["execution"] == -1.0 and _components(info)["schema"] == 0.0
    finally:
        env.close()


def _spider_dir(tmp_path, bird=False):
    db_dir = tmp_path / ("dev_databases" if bird else "database") / "pets"
    db_dir.mkdir(parents=True)
    con = sqlite3.connect(db_dir / "pets.sqlite")
    con.executescript("CREATE TABLE pet (id INTEGER PRIMARY KEY, kind TEXT, age REAL);"
                      "INSERT INTO pet VALUES (1, 'dog', 3), (2, 'cat', 5.5), (3, 'dog', NULL);"
                      "CREATE TABLE visit (pet_id INTEGER REFERENCES pet, day TEXT);")
    con.commit()
    con.close()
    key = "SQL" if bird else "query"
    items = [
        {"db_id": "pets", "question": "How many dogs are there?", key: "SELECT count(*) FROM pet WHERE kind = 'dog'",
         **({"evidence": "dogs have kind = 'dog'", "difficulty": "simple"} if bird else {})},
        {"db_id": "pets", "question": "List pets by age.", key: "SELECT id FROM pet ORDER BY age DESC"},
    ]
    (tmp_path / "dev.json").write_text(json.dumps(items))
    return tmp_path


@pytest.mark.parametrize("bird", [False, True])
def test_spider_and_bird_directories(tmp_path, bird):
    root = _spider_dir(tmp_path, bird)
    tasks = load_spider(root)
    assert [t.id for t in tasks] == ["dev:0:pets", "dev:1:pets"]
    assert tasks[1].ordered and not tasks[0].ordered
    assert tasks[0].evidence == ("dogs have kind = 'dog'" if bird else "")
    env = SQLEnv(tasks=str(root))
    try:
        obs, info = env.reset(options={"task": "dev:0:pets"})
        assert "pet(id INTEGER, kind TEXT, age REAL)" in obs and ("Hint: dogs" in obs) == bird
        assert "visit(pet_id INTEGER -> pet.id, day TEXT)" in obs
        _, _, term, _, info = env.step("<answer>SELECT COUNT(*) FROM pet WHERE kind = 'dog'</answer>")
        assert term and info["success"]
        env.reset(options={"task": 1})
        _, _, _, _, info = env.step("<answer>SELECT id FROM pet ORDER BY age ASC</answer>")
        assert not info["success"]  # the gold orders, so order matters
    finally:
        env.close()
    with pytest.raises(FileNotFoundError, match="no question file"):
        load_spider(tmp_path / "dev_databases" if bird else tmp_path / "database")


def test_custom_task_objects_and_unknown_tasks(env, sql_cache):
    from densegym.envs.sql.tasks import Database

    task = SQLTask("mine", "How many customers?", "SELECT COUNT(*) FROM customers", Database("retail", 300, 0))
    custom = SQLEnv(tasks=[task], cache_dir=sql_cache)
    try:
        obs, info = custom.reset(seed=0)
        assert info["task_id"] == "mine" and "How many customers?" in obs
        with pytest.raises(ValueError, match="unknown SQL task"):
            custom.reset(options={"task": "other"})
    finally:
        custom.close()
    with pytest.raises(ValueError, match="unknown SQL backend"):
        SQLEnv("oracle")



def test_a_gold_result_beyond_the_caps_is_reported(sql_cache):
    from densegym.envs.sql.tasks import Database

    task = SQLTask("big", "Every order item.", "SELECT * FROM order_items", Database("retail", 300, 0))
    env = SQLEnv(tasks=[task], cache_dir=sql_cache, max_rows=10)
    try:
        with pytest.raises(RuntimeError, match="exceeds the row/byte caps"):
            env.reset(seed=0)
    finally:
        env.close()


def test_postgres_needs_a_dsn(monkeypatch):
    monkeypatch.delenv("DENSEGYM_POSTGRES_DSN", raising=False)
    with pytest.raises(ValueError, match="postgres_dsn"):
        SQLEnv("postgres")


def test_import_without_the_extra_names_it():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["sqlglot"] = None  # as if the sql extra were not installed
        try:
            import densegym.envs.sql
        except ImportError as exc:
            print(str(exc))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'densegym[sql]'" in out.stdout, out.stderr


# ---- equivalent answers are judged right on every backend -------------------------------------------

EQUIVALENCE_TASK = "gen:retail:300:0:numeric_filter:0"  # SELECT name, price FROM products WHERE price > v
TOP_TASK = "gen:library:300:0:top_k:0"  # ordered: ORDER BY ... LIMIT k


def _answers(gold: str) -> dict[str, tuple[str, bool]]:
    """Variants of the gold query of EQUIVALENCE_TASK: (sql, judged right?)."""
    where = gold[gold.index("WHERE"):]
    return {
        "reordered columns": (f"SELECT price, name FROM products {where}", True),
        "an ORDER BY the gold does not have": (f"SELECT name, price FROM products {where} ORDER BY price DESC", True),
        "float arithmetic that cancels": (f"SELECT name, price * 3 / 3 FROM products {where}", True),
        "a CTE around it": (f"WITH t AS (SELECT name, price FROM products {where}) SELECT * FROM t", True),
        "duplicates removed": (f"SELECT DISTINCT name, price FROM products {where} UNION ALL "
                               f"SELECT name, price FROM products WHERE 1 = 0", None),
        "duplicated rows": (f"SELECT name, price FROM products {where} UNION ALL "
                            f"SELECT name, price FROM products {where}", False),
        "NULL instead of a value": (f"SELECT name, NULL FROM products {where}", False),
        "rounded floats": (f"SELECT name, ROUND(price) FROM products {where}", False),
        "a column missing": (f"SELECT name FROM products {where}", False),
    }


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgres"])
def test_equivalent_answers_are_judged_right_on_every_backend(kind, sql_cache, request):
    kwargs = {}
    if kind == "duckdb":
        request.getfixturevalue("need_duckdb")
    elif kind == "postgres":
        kwargs["postgres_dsn"] = request.getfixturevalue("pg_admin")
    env = SQLEnv(kind, rows=300, cache_dir=sql_cache, **kwargs)
    try:
        env.reset(options={"task": EQUIVALENCE_TASK})
        gold = env.task.gold_sql
        names = [r[0] for r in env._gold[env.task.id].rows]
        distinct = len(set(names)) == len(names)
        for case, (sql, right) in _answers(gold).items():
            if right is None:  # DISTINCT is right exactly when the gold result has no duplicates
                right = distinct
            env.reset(options={"task": EQUIVALENCE_TASK})
            _, _, term, _, info = env.step(f"<answer>{sql}</answer>")
            assert term and info["success"] is right, (kind, case)
        env.reset(options={"task": TOP_TASK})
        gold = env.task.gold_sql
        assert env.task.ordered
        body, limit = gold.rsplit(" LIMIT ", 1)
        flipped = body.replace(" DESC", " ASC") if " DESC" in body else body.replace(" ASC", " DESC")
        cases = {
            f"SELECT * FROM ({gold}) AS g": True,
            f"SELECT * FROM ({flipped} LIMIT {limit}) AS g": False,  # other rows
            f"SELECT * FROM ({gold}) AS g ORDER BY 2 {'ASC' if ' DESC' in body else 'DESC'}": False,  # same rows, reversed
        }
        for sql, right in cases.items():
            env.reset(options={"task": TOP_TASK})
            _, _, _, _, info = env.step(f"<answer>{sql}</answer>")
            assert info["success"] is right, (kind, sql)
    finally:
        env.close()


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_every_backend_holds_the_same_database(kind, make_backend):
    from densegym.envs.sql.match import results_match
    from densegym.envs.sql.schemas import SCHEMAS

    for schema in SCHEMAS:
        sqlite, other = make_backend("sqlite", schema=schema), make_backend(kind, schema=schema)
        assert set(sqlite.table_columns()) == set(other.table_columns())
        for table in SCHEMAS[schema].tables:
            query = f"SELECT * FROM {table.name} ORDER BY {table.pk.name}"
            a, b = sqlite.run(query), other.run(query)
            assert a.columns == b.columns and a.rows == b.rows, (schema, table.name)
            assert results_match(a.rows, b.rows, ordered=True)
