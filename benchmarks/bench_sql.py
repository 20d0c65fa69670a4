"""SQL env latency: reset and step per backend, and against SkyRL-gym's text2sql env, in one run.

    python -m benchmarks.bench_sql [--quick] [--json FILE]

* Per backend (SQLite, DuckDB, PostgreSQL on a private throwaway cluster when ``initdb`` is installed):
  ``reset`` on a warm env (the database and its connection already open, as in training, where an env
  serves many episodes), ``reset_new_task`` (a task this env has not seen: its gold query runs once),
  and ``step`` with one exploration query, one submitted answer, and one query that errors. Medians over
  many calls, in milliseconds; n = 200 (``--quick``: 30), at most 240 distinct new tasks.
* SkyRL-gym (``skyrl-gym``, its ``SQLEnv`` + ``SQLCodeExecutorToolGroup``) against densegym on SQLite, on the
  *same* SQLite database file and the *same* query: SkyRL builds one env per episode (its "reset"),
  opens a new SQLite connection and thread per query, and formats results with pandas; densegym keeps
  the connection, checks the query with sqlglot and computes the per-turn reward components.

Install the peer with ``pip install -r benchmarks/requirements-sql.txt`` and
``pip install --no-deps skyrl-gym==0.4.0`` (its declared dependencies include packages its SQL env
never imports).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from densegym.envs.sql import SQLEnv
from densegym.envs.sql.materialize import ensure_sqlite
from densegym.envs.sql.tasks import bundled_task_ids, generated_task

TASK = "gen:retail:1000:0:join_count:0"
EXPLORE = "SELECT status, COUNT(*) FROM orders GROUP BY status"
BROKEN = "SELECT nope FROM orders"


def _median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def bench_densegym(backend: str, n: int, cache: Path, dsn: str | None) -> dict[str, float]:
    env = SQLEnv(backend, rows=1000, cache_dir=cache, postgres_dsn=dsn, max_turns=10_000)
    try:
        env.reset(options={"task": TASK})  # build and open the database once
        gold = env.task.gold_sql
        out = {"reset": _median_ms(lambda: env.reset(options={"task": TASK}), n)}
        fresh = iter(t for t in bundled_task_ids(1000, 0, schemas=["retail"]) if t != TASK)
        for _ in range(n):  # realize the questions first: question generation is not the env's reset
            generated_task(next(fresh), cache)
        fresh = iter(t for t in bundled_task_ids(1000, 0, schemas=["retail"]) if t != TASK)
        out["reset_new_task"] = _median_ms(lambda: env.reset(options={"task": next(fresh)}), n)
        env.reset(options={"task": TASK})
        # Each exploration step runs a query text not seen before in the episode (no cache of any kind helps).
        counter = iter(range(10**9))
        out["step_query"] = _median_ms(lambda: env.step(f"<sql>{EXPLORE} LIMIT {1000 + next(counter)}</sql>"), n)
        out["step_error"] = _median_ms(lambda: env.step(f"<sql>{BROKEN}</sql>"), n)

        def answer():  # a fresh comment makes each answer a new text (no parse cache helps)
            env.reset(options={"task": TASK})
            env.step(f"<answer>{gold} /* {next(counter)} */</answer>")

        out["step_answer"] = _median_ms(answer, n) - out["reset"]
        return out
    finally:
        env.close()


def bench_skyrl(n: int, cache: Path) -> dict[str, float] | None:
    try:
        from skyrl_gym.envs.sql.env import SQLEnv as SkyRLSQLEnv
        from skyrl_gym.envs.sql.env import Text2SQLEnvConfig
    except ImportError:
        return None
    task = generated_task(TASK, cache)
    db_id = "densegym_retail"
    root = Path(tempfile.mkdtemp(prefix="skyrl-sql-"))
    (root / "spider" / "database" / db_id).mkdir(parents=True)
    os.symlink(ensure_sqlite("retail", 1000, 0, cache), root / "spider" / "database" / db_id / f"{db_id}.sqlite")
    extras = {"db_id": db_id, "reward_spec": {"ground_truth": task.gold_sql}, "data": "spider", "max_turns": 10**9}
    config = Text2SQLEnvConfig(db_path=str(root))

    def make():
        env = SkyRLSQLEnv(config, extras)
        env.init([{"role": "user", "content": task.question}])
        return env

    out = {"reset": _median_ms(make, n)}
    out["reset_new_task"] = out["reset"]  # SkyRL builds an env per episode whatever the task
    env = make()
    counter = iter(range(10**9))
    out["step_query"] = _median_ms(lambda: env.step(f"<sql>{EXPLORE} LIMIT {1000 + next(counter)}</sql>"), n)
    out["step_error"] = _median_ms(lambda: env.step(f"<sql>{BROKEN}</sql>"), n)

    def answer():
        e = make()
        e.step(f"<think>the gold query</think><solution>{task.gold_sql} /* {next(counter)} */</solution>")

    out["step_answer"] = _median_ms(answer, n) - out["reset"]
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    n = 30 if args.quick else 200  # <= the 240 retail tasks that reset_new_task walks through
    results: dict[str, dict[str, float] | None] = {}
    with ExitStack() as stack:
        cache = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="densegym-bench-sql-")))
        results["densegym sqlite"] = bench_densegym("sqlite", n, cache, None)
        try:
            import duckdb  # noqa: F401

            results["densegym duckdb"] = bench_densegym("duckdb", n, cache, None)
        except ImportError:
            results["densegym duckdb"] = None
        from densegym.envs.sql.pgcluster import cluster_available, temporary_cluster

        dsn = os.environ.get("DENSEGYM_POSTGRES_DSN")
        if dsn is None and cluster_available():
            dsn = stack.enter_context(temporary_cluster(port=54339))
        results["densegym postgres"] = bench_densegym("postgres", n, cache, dsn) if dsn else None
        results["skyrl-gym sqlite"] = bench_skyrl(n, cache)

    base = results["densegym sqlite"]
    print(f"SQL env latency, median ms over {n} calls ({platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}); ratio = time / densegym sqlite time")
    print(f"{'env':<20}" + "".join(f"{k:>22}" for k in base))
    for name, row in results.items():
        if row is None:
            print(f"{name:<20}  (not installed)")
            continue
        print(f"{name:<20}" + "".join(f"{row[k]:>12.3f} ({row[k] / base[k]:>5.2f}x)" for k in base))
    if args.json:
        Path(args.json).write_text(json.dumps({"n": n, "results": results}, indent=2))
    return results


if __name__ == "__main__":
    main()
