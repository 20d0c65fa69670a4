"""Reward integrity of the SQL env: each attack of the review reproduced on real databases, earning nothing.

* one time budget per step: slow CTE checks cannot multiply the time limit (finding 4);
* result matching is bounded: columns are paired by signatures, not by trying every permutation (5);
* matching against Spider's execution accuracy: exact integers and decimals, a tolerance no rounding
  passes, unordered never stricter than ordered, order read from the gold query (6);
* ``cte_steps`` pays only for CTEs that carry a correct answer (7);
* ``redundancy`` sees through comments and never counts the submission (8).

Budgets are asserted by what ran (``queries_run``, ``skipped``, ``budget_spent``, the number of column
assignments compared), never by a duration.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

import pytest

from densegym.envs.sql import SQLEnv, SQLTask
from densegym.envs.sql.analysis import canonical
from densegym.envs.sql.backends import QueryTimeout
from densegym.envs.sql.match import MAX_ASSIGNMENTS, REL_TOL, MatchTimeout, partial_match, results_match
from densegym.envs.sql.tasks import Database

TASK = "gen:retail:300:0:numeric_filter:0"  # SELECT name, price FROM products WHERE price > v
BACKENDS = ["sqlite", "duckdb", "postgres"]


def _env(kind, sql_cache, request, **kwargs):
    if kind == "duckdb":
        request.getfixturevalue("need_duckdb")
    elif kind == "postgres":
        kwargs["postgres_dsn"] = request.getfixturevalue("pg_admin")
    return SQLEnv(kind, rows=300, cache_dir=sql_cache, max_turns=50, **kwargs)


def _task(gold: str, ordered: bool | None = None, name: str = "t") -> SQLTask:
    return SQLTask(name, "A question.", gold, Database("retail", 300, 0), ordered=ordered)


def _answer(env, task, sql):
    env.reset(options={"task": task})
    _, reward, term, _, info = env.step(f"<answer>{sql}</answer>")
    assert term and info["action_valid"], info.get("action_error")
    return reward, info


@pytest.fixture
def env(sql_cache):
    e = SQLEnv(rows=300, cache_dir=sql_cache, max_turns=50)
    yield e
    e.close()


# ---- 4: one time budget per step ----------------------------------------------------------------------

# A CTE that never finishes on its own (an endless recursive count, aggregated) and reads a real table, so
# that it would count as a step of the answer.
SLOW = ("s{i} AS (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT MAX(x) AS m FROM c, (SELECT 1 FROM products LIMIT 1) AS p)")


def test_slow_cte_checks_share_the_steps_budget(sql_cache):
    """A correct answer with 8 endless CTEs that the final query references but never evaluates (SQLite
    short-circuits CASE): before, each CTE check ran with the full time limit (8 x 1 s after the answer);
    now the first check takes what is left of the step's one budget and the other seven never run."""
    env = SQLEnv(rows=300, cache_dir=sql_cache, time_limit_s=1.0)
    try:
        env.reset(options={"task": TASK})
        gold = env.task.gold_sql
        defs = ", ".join(SLOW.format(i=i) for i in range(8))
        lazy = " AND ".join(f"(CASE WHEN 1 THEN 1 ELSE (SELECT m FROM s{i}) END) = 1" for i in range(8))
        _, _, term, _, info = env.step(f"<answer>WITH {defs}, g AS ({gold}) SELECT * FROM g WHERE {lazy}</answer>")
        assert term and info["success"] and info["reward_components"]["outcome"] == 1.0
        assert info["queries_run"] == 2  # the answer, then one CTE check that ran out the budget
        assert info["budget_spent"] and info["skipped"] == "cte_steps"
        assert info["reward_components"]["cte_steps"] == 0.0  # unverified steps earn nothing
        # A step with time to spare says so.
        env.reset(options={"task": TASK})
        where = gold[gold.index("WHERE"):]
        chain = f"WITH o AS (SELECT * FROM products), g AS (SELECT name, price FROM o {where}) SELECT * FROM g"
        _, _, _, _, info = env.step(f"<answer>{chain}</answer>")
        assert info["queries_run"] == 2 and not info["budget_spent"] and info["skipped"] == ""
        assert info["reward_components"]["cte_steps"] == 1.0
    finally:
        env.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_query_gets_only_what_is_left_of_the_budget(kind, make_backend):
    """``time_s`` lowers the time limit of one query (the message names the budget, not the 60 s limit),
    and a spent budget runs nothing."""
    backend = make_backend(kind, time_s=60.0)
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT MAX(x) FROM c"
    with pytest.raises(QueryTimeout, match="remaining budget"):
        backend.run(endless, time_s=0.3)
    with pytest.raises(QueryTimeout, match="budget was spent"):
        backend.run("SELECT 1", time_s=0.0)
    assert backend.run("SELECT 1", time_s=5.0).rows == ((1,),)


def test_a_comparison_cut_by_the_budget_earns_nothing(sql_cache, monkeypatch):
    """When the budget runs out during the comparison (here: a budget that is spent as soon as the query has
    run), the answer is not judged correct and its progress is not paid; info says what was skipped."""
    import densegym.envs.sql.env as env_module
    from densegym.envs.sql.backends import Budget

    class SpentAfterTheQuery(Budget):
        def left(self):  # the query gets the whole budget, and nothing is left after it
            remaining = super().left()
            self.deadline = time.monotonic() - 1.0
            return remaining

    env = SQLEnv(rows=300, cache_dir=sql_cache)
    try:
        env.reset(options={"task": TASK})
        gold = env.task.gold_sql
        monkeypatch.setattr(env_module, "Budget", SpentAfterTheQuery)
        _, _, _, _, info = env.step(f"<sql>{gold}</sql>")
        assert info["executed"] and info["budget_spent"] and info["skipped"] == "progress"
        assert info["reward_components"]["progress"] == 0.0 and info["privileged"]["phi"] == 0.0
        obs, _, term, _, info = env.step(f"<answer>{gold}</answer>")
        assert term and not info["success"] and info["outcome"] == 0.0
        assert info["skipped"] == "outcome,progress" and "time budget" in obs
        assert info["reward_components"]["progress"] == 0.0
        monkeypatch.undo()
        env.reset(options={"task": TASK})
        _, _, _, _, info = env.step(f"<answer>{gold}</answer>")
        assert info["success"] and not info["budget_spent"]
    finally:
        env.close()


def test_every_comparison_honours_a_deadline():
    gold = [(i, f"n{i}", i / 7) for i in range(50)]
    past = time.monotonic() - 1.0
    for call in (lambda: results_match(gold, gold, deadline=past), lambda: partial_match(gold, gold, deadline=past),
                 lambda: partial_match(gold[:3], gold, deadline=past, matched=False)):
        with pytest.raises(MatchTimeout):
            call()


# ---- 5: column matching by signatures ---------------------------------------------------------------------


def _seven_columns(n: int):
    gold = [tuple(float(i * 7 + j) + 0.5 for j in range(7)) for i in range(n)]
    off_by_one = [r[:6] + (r[6] + 1.0,) for r in gold]  # one column's values differ
    return gold, off_by_one


def test_a_column_that_matches_no_column_ends_the_search_at_once():
    """The review's case: 7 float columns, 1,000 rows, one column's values differ. Before, up to 5,040
    permutations were each sorted and compared (118 s); now no assignment is compared in full at all."""
    gold, wrong = _seven_columns(1000)
    stats = {}
    assert not results_match(wrong, gold, stats=stats)
    assert stats["assignments"] == 0
    assert 0 < partial_match(wrong, gold) < 1
    perm = [3, 1, 6, 0, 2, 5, 4]
    shuffled = [tuple(r[i] for i in perm) for r in gold]
    random.Random(0).shuffle(shuffled)
    assert results_match(shuffled, gold, stats=stats) and stats["assignments"] == 1
    assert results_match([r[::-1] for r in gold[::-1]], gold, ordered=False, stats=stats)
    assert not results_match([r[::-1] for r in gold[::-1]], gold, ordered=True)


def test_columns_with_equal_signatures_are_pruned_pairwise():
    """Adversarial: every column holds the same multiset (cyclic shifts, a Latin square), so the signatures
    allow every permutation; the pairwise checks leave only a handful to compare in full."""
    n = 600
    gold = [tuple(float((i + k) % n) for k in range(7)) for i in range(n)]
    other = [tuple(float((i + 2 * k) % n) for k in range(7)) for i in range(n)]
    stats = {}
    assert not results_match(other, gold, stats=stats)
    assert stats["assignments"] <= 2 < MAX_ASSIGNMENTS
    swapped = [(r[1], r[0]) + r[2:] for r in gold]
    assert results_match(swapped, gold, stats=stats) and stats["assignments"] <= 2


def test_the_seven_column_case_on_a_real_database(sql_cache):
    """The same attack through the env on SQLite: a 7-column, 1,000-row gold; an exploration query with one
    column off is compared within the step's budget (nothing skipped) and earns partial progress only."""
    rows = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999) "
    cols = ", ".join(f"i * 7 + {j}.5 AS c{j}" for j in range(7))
    gold_sql = f"{rows}SELECT {cols} FROM n"
    wrong_sql = gold_sql.replace("i * 7 + 6.5", "i * 7 + 7.5")
    env = SQLEnv(tasks=[_task(gold_sql, name="wide")], cache_dir=sql_cache)
    try:
        env.reset(seed=0)
        _, _, _, _, info = env.step(f"<sql>{wrong_sql}</sql>")
        assert info["executed"] and not info["budget_spent"] and info["skipped"] == ""
        assert 0 < info["reward_components"]["progress"] < 1 and info["queries_run"] == 1
        gold_rows, wrong_rows = env.backend.run(gold_sql).rows, env.backend.run(wrong_sql).rows
        stats = {}
        assert not results_match(wrong_rows, gold_rows, stats=stats) and stats["assignments"] == 0
        reordered = f"{rows}SELECT {', '.join(f'i * 7 + {j}.5' for j in (6, 0, 5, 1, 4, 2, 3))} FROM n ORDER BY i DESC"
        _, _, _, _, info = env.step(f"<answer>{reordered}</answer>")
        assert info["success"] and not info["budget_spent"]
    finally:
        env.close()


# ---- 6: matching semantics against Spider's evaluator -----------------------------------------------------


def test_integers_and_decimals_compare_exactly():
    assert not results_match([(1000000,)], [(1000001,)])
    assert not results_match([(10**17,)], [(10**17 + 1,)])
    assert not results_match([(Decimal("0.3333"),)], [(Decimal("0.3333333333333333"),)])
    assert not results_match([(Decimal("123456789.01"),)], [(Decimal("123456789.02"),)])
    assert results_match([(Decimal("2.50"),)], [(Decimal("2.5"),)])  # the same value at another scale
    assert results_match([(3,)], [(Decimal(3),)]) and results_match([(3,)], [(3.0,)])  # 1 and 1.0 are equal
    assert results_match([(1000000.0000001,)], [(1000000,)])  # a float is compared within the tolerance
    assert results_match([(float("nan"), None)], [(float("nan"), None)])
    assert not results_match([(float("inf"),)], [(10**400,)])


@pytest.mark.parametrize("kind", BACKENDS)
def test_off_by_one_integers_and_rounded_decimals_fail_on_every_backend(kind, sql_cache, request):
    env = _env(kind, sql_cache, request)
    try:
        cases = [
            ("SELECT COUNT(*) + 1000000 FROM order_items", "SELECT COUNT(*) + 1000001 FROM order_items", False),
            ("SELECT SUM(quantity) * 1000 FROM order_items", "SELECT SUM(quantity) * 1000 + 1 FROM order_items", False),
            # PostgreSQL's AVG of integers is an exact NUMERIC: its rounding to 4 places is another number.
            ("SELECT AVG(quantity) FROM order_items", "SELECT ROUND(AVG(quantity), 4) FROM order_items", False),
            ("SELECT COUNT(*) + 1000000 FROM order_items", "SELECT 1000000 + COUNT(*) FROM order_items", True),
        ]
        for i, (gold, pred, right) in enumerate(cases):
            _, info = _answer(env, _task(gold, name=f"int{i}"), pred)
            assert info["success"] is right, (kind, gold, pred)
    finally:
        env.close()


# Gold values of a magnitude where the former relative 1e-6 let a rounding pass: near 2,000 (ROUND(.., 4)
# passed) and above 5e5 (ROUND(.., 0) passed).
ROUNDING_GOLDS = [
    ("AVG(unit_price) * 12.3456789", "order_items", 1_000, 10_000),
    ("SUM(unit_price * quantity) * 5.4321", "order_items", 5e5, 5e6),
    ("AVG(price)", "products", 10, 1_000),
    ("SUM(price) / 7", "products", 100, 10_000),
]


@pytest.mark.parametrize("kind", BACKENDS)
def test_no_rounding_a_question_asks_for_passes(kind, sql_cache, request):
    """Real aggregates on every backend against their own rounding to 0-4 decimals: none passes (unless the
    rounding does not change the value), while the same sum taken in another order still does."""
    env = _env(kind, sql_cache, request)
    try:
        checked = 0
        for i, (expr, table, low, high) in enumerate(ROUNDING_GOLDS):
            task = _task(f"SELECT {expr} AS v FROM {table}", name=f"round{i}")
            env.reset(options={"task": task})
            value = float(env._gold[task.id].rows[0][0])
            assert low < abs(value) < high, (expr, value)
            for k in range(5):
                if abs(round(value, k) - value) <= REL_TOL * abs(value):
                    continue  # the rounding changes nothing: the same number
                # PostgreSQL rounds to decimal places only a NUMERIC.
                rounded = f"ROUND(CAST({expr} AS NUMERIC), {k})" if kind == "postgres" else f"ROUND({expr}, {k})"
                _, info = _answer(env, task, f"SELECT {rounded} FROM {table}")
                assert info["executed"] and not info["success"], (kind, expr, k, value)
                checked += 1
            key = "unit_price" if table == "order_items" else "price"
            reordered = f"SELECT {expr} FROM (SELECT * FROM {table} ORDER BY {key} DESC) AS t"
            _, info = _answer(env, task, reordered)
            assert info["success"], (kind, expr)
        assert checked >= 12
    finally:
        env.close()


def test_unordered_matching_is_never_stricter_than_ordered():
    """Near-ties within the tolerance that sort differently on the two sides: the ordered comparison pairs
    them row by row, and the unordered one (a true multiset match) must accept what ordered accepts."""
    e = 4 * REL_TOL
    gold = [(1 + 0.1 * e, 5), (1 + 0.2 * e, 6)]
    pred = [(1 + 0.2 * e, 5), (1 + 0.1 * e, 6)]  # within the tolerance of gold, row by row
    assert results_match(pred, gold, ordered=True)
    assert results_match(pred, gold, ordered=False)
    assert results_match(pred[::-1], gold, ordered=False)
    assert not results_match([(1 + 0.2 * e, 5), (1 + 0.1 * e, 5)], gold)  # but a 6 is never a 5
    # The review's shape: floats 2e-14 apart on either side of a boundary where the former sort key (the
    # value to 6 significant digits) jumped, so that sorting paired the rows wrongly.
    lo, hi = 1.00000499999999, 1.00000500000001
    for gold, pred in [([(lo, "a"), (hi, "b")], [(hi, "a"), (lo, "b")]), ([(lo, 5), (hi, 6)], [(hi, 5), (lo, 6)])]:
        assert results_match(pred, gold, ordered=True)
        assert results_match(pred, gold, ordered=False)
        assert results_match(pred[::-1], gold, ordered=False)


def test_unordered_accepts_whatever_ordered_accepts_randomised():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    cell = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["a", "b"]),
                     st.sampled_from([1.0, 1.0 + 3e-10, 1.0 + 6e-10, 1.00000499999999, 1.00000500000001,
                                      2.5, -7.25, 1e6 + 0.5]))

    @settings(max_examples=300, deadline=None)
    @given(st.integers(1, 3).flatmap(lambda w: st.lists(st.tuples(*[cell] * w), min_size=1, max_size=12)),
           st.lists(st.floats(-0.45, 0.45), min_size=36, max_size=36), st.randoms())
    def check(gold, jitter, rnd):
        jit = iter(jitter * 3)
        pred = [tuple(v * (1 + next(jit) * REL_TOL) if isinstance(v, float) else v for v in r) for r in gold]
        assert results_match(pred, gold, ordered=True)
        shuffled = list(pred)
        rnd.shuffle(shuffled)
        assert results_match(shuffled, gold, ordered=False)

    check()


def test_near_ties_from_a_real_database_match_unordered(sql_cache):
    gold_sql = "SELECT 1.00000499999999 AS x, 5 AS y UNION ALL SELECT 1.00000500000001, 6"
    pred_sql = "SELECT 6 AS y, 1.00000499999999 AS x UNION ALL SELECT 5, 1.00000500000001"  # floats swapped
    env = SQLEnv(tasks=[_task(gold_sql, name="ties")], cache_dir=sql_cache)
    try:
        _, info = _answer(env, "ties", pred_sql)
        assert info["success"]
    finally:
        env.close()


def test_a_user_task_takes_its_order_from_the_gold_query(sql_cache):
    """A task that does not say whether order matters: a top-level ORDER BY in its gold makes it ordered
    (before, it was judged unordered unless the flag was set); an ORDER BY in a subquery does not."""
    ordered_gold = "SELECT name, price FROM products ORDER BY price DESC, name"
    reversed_pred = "SELECT name, price FROM products ORDER BY price ASC, name DESC"
    inner_order = "SELECT name FROM (SELECT name FROM products ORDER BY price DESC LIMIT 5) AS t"
    tasks = [_task(ordered_gold, name="derived"), _task(ordered_gold, ordered=False, name="said_unordered"),
             _task(inner_order, name="inner")]
    env = SQLEnv(tasks=tasks, cache_dir=sql_cache)
    try:
        _, info = _answer(env, "derived", reversed_pred)
        assert not info["success"] and info["privileged"]["ordered"] is True
        _, info = _answer(env, "derived", ordered_gold)
        assert info["success"]
        _, info = _answer(env, "said_unordered", reversed_pred)
        assert info["success"] and info["privileged"]["ordered"] is False
        _, info = _answer(env, "inner", "SELECT name FROM (SELECT name, price FROM products ORDER BY price DESC "
                                        "LIMIT 5) AS t ORDER BY name")
        assert info["success"] and info["privileged"]["ordered"] is False
    finally:
        env.close()


# ---- 7: cte_steps measures CTEs that carry a correct answer -------------------------------------------------


def test_dummy_ctes_earn_nothing(env):
    env.reset(options={"task": TASK})
    gold = env.task.gold_sql
    _, plain = _answer(env, TASK, gold)
    plain_reward = sum(plain["reward_components"][k] * w for k, w in plain["reward_weights"].items())
    cases = {
        "WITH a AS (SELECT 1), b AS (SELECT 1) SELECT 42": (False, 0.0),  # wrong: before, cte_steps 1
        f"WITH a AS (SELECT 1) {gold}": (True, 0.0),  # an unread constant CTE: before, +0.1
        f"WITH r AS (SELECT * FROM orders) {gold}": (True, 0.0),  # real, but the answer never reads it
        f"WITH k AS (SELECT 0 AS z) SELECT name, price FROM products, k {gold[gold.index('WHERE'):]}": (True, 0.0),
        f"WITH g AS ({gold}) SELECT * FROM g": (True, 0.0),  # the answer wrapped: g is the final query
        f"WITH a AS (SELECT 1), g AS ({gold}) SELECT * FROM g": (True, 0.0),
        f"WITH a AS (SELECT 1), o AS (SELECT * FROM products), g AS (SELECT name, price FROM o "
        f"{gold[gold.index('WHERE'):]}) SELECT * FROM g": (True, 0.5),  # a dummy dilutes a real chain
        f"WITH o AS (SELECT * FROM products), g AS (SELECT name, price FROM o {gold[gold.index('WHERE'):]}) "
        "SELECT * FROM g": (True, 1.0),  # a real chain: o carries the answer g passes through
    }
    for sql, (right, score) in cases.items():
        reward, info = _answer(env, TASK, sql)
        assert info["success"] is right and info["reward_components"]["cte_steps"] == score, sql
        if right and score == 0.0:
            assert reward == pytest.approx(plain_reward), sql  # wrapping adds nothing
            assert info["queries_run"] == 1  # and no CTE was even checked
    _, info = _answer(env, TASK, "WITH a AS (SELECT 1), b AS (SELECT 1) SELECT 42")
    assert info["queries_run"] == 1


# ---- 8: redundancy -----------------------------------------------------------------------------------------


def test_redundancy_sees_through_comments_and_spacing(env):
    env.reset(options={"task": TASK})
    _, _, _, _, info = env.step("<sql>SELECT name FROM products</sql>")
    assert info["reward_components"]["redundancy"] == 0.0
    for same in ("SELECT name FROM products /* x */", "SELECT name -- why not\nFROM products",
                 "/* first */ select  NAME\n from PRODUCTS;"):
        _, _, _, _, info = env.step(f"<sql>{same}</sql>")
        assert info["repeated"] and info["reward_components"]["redundancy"] == -1.0, same
    _, _, _, _, info = env.step("<sql>SELECT name FROM products WHERE name = 'A'</sql>")
    assert not info["repeated"]
    _, _, _, _, info = env.step("<sql>SELECT name FROM products WHERE name = 'a'</sql>")
    assert not info["repeated"]  # string literals keep their case
    assert canonical("SELECT 1 /* x */", "sqlite") == canonical("select 1", "sqlite")
    assert canonical("SELEC  T\n 1 ((", "sqlite") == "SELEC T 1 (("  # unparsable: whitespace collapsed


def test_submitting_a_query_that_already_ran_is_not_a_repeat(env):
    env.reset(options={"task": TASK})
    gold = env.task.gold_sql
    env.step(f"<sql>{gold}</sql>")
    _, _, term, _, info = env.step(f"<answer>{gold}</answer>")
    assert term and info["success"] and not info["repeated"]
    assert info["reward_components"]["redundancy"] == 0.0
