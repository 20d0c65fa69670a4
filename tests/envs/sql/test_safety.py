"""The agent can never change the database, and no query can hang or flood the env, on every backend.

Each attack runs twice: through ``Backend.run`` (the guard and the database lock) and through
``Backend.execute`` (the database lock alone, as if the guard had a hole), and the database is compared
before and after.
"""

from __future__ import annotations

import pytest

from densegym.envs.sql.backends import QueryError, QueryRefused, QueryTimeout

BACKENDS = ["sqlite", "duckdb", "postgres"]

WRITES = [
    "DROP TABLE products",
    "DELETE FROM products",
    "UPDATE products SET price = 0",
    "INSERT INTO products VALUES (999, 'x', 'Books', 1.0, 1)",
    "CREATE TABLE evil (a INTEGER)",
    "CREATE TEMP TABLE evil (a INTEGER)",
    "ALTER TABLE products ADD COLUMN evil INTEGER",
    "SELECT 1; DROP TABLE products",
    "SELECT 1; SELECT 2",
    "WITH d AS (DELETE FROM products RETURNING *) SELECT * FROM d",
    "SELECT * INTO evil FROM products",
    "ATTACH DATABASE '/tmp/densegym-evil.db' AS evil",
    "PRAGMA writable_schema = ON",
    "PRAGMA query_only = OFF",
    "COPY products TO '/tmp/densegym-evil.csv'",
    "COPY (SELECT 1) TO PROGRAM 'touch /tmp/densegym-evil'",
    "SELECT load_extension('/tmp/evil')",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SET statement_timeout = 0",
    "BEGIN; DELETE FROM products; COMMIT",
    "VACUUM",
    "INSTALL httpfs",
]


def _fingerprint(backend):
    tables = backend.table_columns()
    counts = {t: backend.run(f"SELECT COUNT(*) FROM {t}").rows[0][0] for t in tables}
    prices = backend.run("SELECT SUM(price) FROM products").rows
    return tables, counts, prices


@pytest.mark.parametrize("kind", BACKENDS)
def test_no_statement_can_change_the_database(kind, make_backend, tmp_path):
    backend = make_backend(kind)
    before = _fingerprint(backend)
    for sql in WRITES:
        with pytest.raises(QueryRefused):
            backend.run(sql)
        try:
            result = backend.execute(sql)  # the database's own lock, without the guard in front
        except (QueryError, QueryRefused):
            pass
        else:  # a few are harmless reads once the guard is gone (a SELECT of set_config, rolled back)
            assert "DELETE" not in sql and "DROP" not in sql, (sql, result)
        assert _fingerprint(backend) == before, sql
    assert not any(p.name.startswith("densegym-evil") for p in tmp_path.parent.iterdir())
    assert backend.run("SELECT COUNT(*) FROM products").rows == ((before[1]["products"],),)


@pytest.mark.parametrize("kind", BACKENDS)
def test_settings_changed_inside_a_query_do_not_outlive_it(kind, make_backend):
    backend = make_backend(kind)
    if kind == "postgres":
        backend.execute("SELECT set_config('statement_timeout', '0', false)")
        assert backend.run("SELECT current_setting('statement_timeout')").rows == (("2s",),)
        assert backend.run("SELECT current_setting('transaction_read_only')").rows == (("on",),)
        assert backend.run("SELECT current_user").rows == (("densegym_reader",),)
    with pytest.raises(QueryTimeout):
        backend.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c")


@pytest.mark.parametrize("kind", BACKENDS)
def test_runaway_queries_end_cleanly_and_the_backend_keeps_working(kind, make_backend):
    """Endless results end at the row and byte caps, endless computations at the time limit.

    The two are checked on two backends so that neither depends on the machine's speed: the capped one
    has a time limit far beyond what the caps need (60 s), so only a cap can end its endless queries (on a
    loaded machine DuckDB once took more than 1 s to produce the first 500 rows of a recursive CTE, and a
    shared 1-s limit turned the cap into a timeout); the timed one gets 1 s for queries that never finish.
    """
    capped = make_backend(kind, time_s=60.0, max_rows=500, max_bytes=200_000)
    timed = make_backend(kind, time_s=1.0)
    infinite = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
    result = capped.run(infinite)
    assert result.truncated and len(result.rows) == 500 and result.rows[:3] == ((1,), (2,), (3,))
    with pytest.raises(QueryTimeout):
        timed.run(infinite.replace("SELECT x FROM c", "SELECT MAX(x) FROM c"))
    wide = capped.run("SELECT * FROM order_items a, order_items b, order_items c")
    assert wide.truncated and 0 < len(wide.rows) <= 500
    big = capped.run("SELECT a.name || b.name || c.name AS s FROM customers a, customers b, customers c")
    assert big.truncated and sum(len(r[0]) for r in big.rows) <= 200_000
    with pytest.raises(QueryTimeout):
        timed.run("SELECT MAX(x) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                  "SELECT x FROM c) AS t, order_items")
    for backend in (capped, timed):
        assert backend.run("SELECT COUNT(*) FROM orders").rows[0][0] > 0


@pytest.mark.parametrize("kind", BACKENDS)
def test_hostile_actions_in_the_env_get_clear_messages(kind, sql_cache, request):
    from densegym.envs.sql import SQLEnv

    kwargs = {"postgres_dsn": request.getfixturevalue("pg_admin")} if kind == "postgres" else {}
    if kind == "duckdb":
        request.getfixturevalue("need_duckdb")
    env = SQLEnv(kind, rows=300, schemas=["retail"], cache_dir=sql_cache, time_limit_s=1.0, max_turns=30, **kwargs)
    try:
        env.reset(seed=0)
        anchor = env.anchor()
        cases = {
            "<sql>DROP TABLE orders</sql>": "DROP statements are refused",
            "<sql>SELECT 1; DELETE FROM orders</sql>": "2 statements given",
            "<answer>PRAGMA writable_schema=1</answer>": "PRAGMA statements are refused",
            "<sql>SELECT '" + "x" * 1_000_000 + "'</sql>": "at most 16,384",
            "<sql>   </sql>": "the query is empty",
            "nothing here": "no <sql>",
            "<sql>SELECT 1\x00; DROP TABLE orders</sql>": "NUL",
        }
        for action, message in cases.items():
            obs, reward, term, trunc, info = env.step(action)
            assert not info["action_valid"] and message in info["action_error"], (action[:40], info["action_error"])
            assert info["reward_components"]["format"] == -1.0 and not term
            assert env.anchor() == anchor
        obs, _, _, _, info = env.step("<sql>SELECT 'ünïcødé 🙂 中文' AS s</sql>")
        assert info["action_valid"] and "ünïcødé 🙂 中文" in obs
        obs, _, _, _, info = env.step("<sql>SELECT no_such_column FROM orders</sql>")
        assert obs.startswith("Error:") and info["reward_components"]["execution"] == -1.0
        obs, _, _, _, info = env.step(
            "<sql>WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT SUM(x) FROM c</sql>")
        assert "time limit" in obs and info["reward_components"]["execution"] == -1.0
        obs, *_ = env.step("<sql>SELECT COUNT(*) AS n FROM orders</sql>")
        assert obs.startswith("1 row; columns: n")
    finally:
        env.close()


def test_parallel_workers_provision_one_postgres_server(pg_admin):
    """Four workers ask for the same new database at once: one builds it, all get a working reader."""
    from concurrent.futures import ThreadPoolExecutor

    from densegym.envs.sql.backends import PostgresBackend
    from densegym.envs.sql.materialize import ensure_postgres

    with ThreadPoolExecutor(4) as pool:
        dsns = list(pool.map(lambda _: ensure_postgres(pg_admin, "library", 200, 5), range(4)))
    assert len(set(dsns)) == 1
    backend = PostgresBackend(dsns[0])
    try:
        assert backend.run("SELECT COUNT(*) FROM authors").rows[0][0] > 0
        assert backend.run("SELECT COUNT(*) FROM pg_database WHERE datname LIKE '%\\_tmp\\_%'").rows == ((0,),)
    finally:
        backend.close()


FRAGMENTS = [
    "SELECT", "*", "FROM", "orders", "products", "WHERE", "1=1", ";", "DROP TABLE orders", "DELETE FROM orders",
    "INSERT INTO orders VALUES (1)", "UPDATE products SET price = 0", "ATTACH 'x' AS y", "PRAGMA writable_schema=1",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)", "load_extension('x')", "--", "/*", "*/",
    "'", '"', "(", ")", "UNION ALL", "<sql>", "</sql>", "<answer>", "</answer>", "🙂", "\x00", "\n", "ünï", "中文",
    "readfile('/etc/passwd')", "VACUUM INTO '/tmp/densegym-evil.db'", "CREATE TEMP VIEW v AS SELECT 1",
]


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_fuzzed_actions_never_raise_and_never_change_the_database(kind, sql_cache, make_backend, request):
    """Random concatenations of hostile fragments: every step answers, rewards stay finite, the database is
    exactly what it was."""
    import json
    import math

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from densegym.envs.sql import SQLEnv

    if kind == "duckdb":
        request.getfixturevalue("need_duckdb")
    backend = make_backend(kind)
    before = _fingerprint(backend)
    env = SQLEnv(kind, rows=300, schemas=["retail"], cache_dir=sql_cache, time_limit_s=0.5, max_turns=10**6)
    env.reset(seed=1)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=12),
           st.sampled_from(["<sql>{}</sql>", "<answer>{}</answer>", "{}"]))
    def run(parts, wrapper):
        if env._done:
            env.reset(seed=1)
        obs, reward, term, trunc, info = env.step(wrapper.format(" ".join(parts)))
        assert isinstance(obs, str) and obs
        assert math.isfinite(reward)
        assert info["reward_components"]["format"] in (-1.0, 0.0)
        json.dumps(info)

    try:
        run()
    finally:
        env.close()
    assert _fingerprint(backend) == before
    assert not any(p.name.startswith("densegym-evil") for p in __import__("pathlib").Path("/tmp").iterdir())


def test_two_duckdb_backends_on_one_file_share_the_locked_instance(make_backend):
    """DuckDB keeps one instance per file per process (a sync vector env opens several): the second
    connection joins the first one's locked, no-external-access instance and outlives it."""
    first, second = make_backend("duckdb"), make_backend("duckdb")
    assert first.run("SELECT COUNT(*) FROM orders").rows == second.run("SELECT COUNT(*) FROM orders").rows
    first.close()
    assert second.run("SELECT COUNT(*) FROM orders").rows[0][0] > 0
    with pytest.raises(QueryError, match="disabled by configuration"):
        second.execute("SELECT * FROM read_csv('/etc/passwd')")
    settings = "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    assert second.execute(settings).rows == ((False, True),)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_single_huge_value_is_refused_before_it_is_built(kind, make_backend):
    backend = make_backend(kind)
    huge = {"sqlite": "SELECT randomblob(900000000)", "duckdb": "SELECT repeat('x', 900000000)",
            "postgres": "SELECT lpad('x', 900000000, 'y')"}[kind]
    with pytest.raises(QueryRefused, match="size above"):
        backend.run(huge)
    with pytest.raises(QueryRefused, match="size above"):
        backend.run("SELECT lpad('x', 30000 * 30000, 'y')")  # constant arithmetic is folded first
    if kind != "sqlite":
        with pytest.raises(QueryRefused, match="constant size"):
            backend.run("SELECT repeat(name, stock * stock * stock) FROM products")
    if kind != "sqlite":  # SQLite has no lpad
        assert backend.run("SELECT lpad('7', 3, '0')").rows == (("007",),)
    if kind == "sqlite":  # and the engine's own length limit, for sizes the guard cannot see
        with pytest.raises(QueryError, match="too big"):
            backend.run("SELECT randomblob(MAX(stock) * 10000000) FROM products")
    wide = backend.run("SELECT o.status, c.name, p.name FROM orders o, customers c, products p")
    assert wide.truncated and len(wide.rows) >= 1


@pytest.mark.parametrize("kind, query", [("duckdb", "FROM orders SELECT COUNT(*)"), ("postgres", "TABLE customers"),
                                         ("sqlite", "VALUES (1), (2)"), ("postgres", "VALUES (1, 'a')")])
def test_every_dialects_own_query_forms_are_accepted(kind, query, make_backend):
    result = make_backend(kind).run(query)
    assert result.rows and not result.truncated
