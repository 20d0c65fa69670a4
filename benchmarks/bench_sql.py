"""SQL env latency: reset and step per backend, and against SkyRL-gym's text2sql env, in one run.

    python -m benchmarks.bench_sql [--quick] [--json FILE]

* Per backend (SQLite, DuckDB, PostgreSQL on a private throwaway cluster when ``initdb`` is installed):
  ``reset`` on a warm env (the database and its connection already open, as in training, where an env
  serves many episodes), ``reset_new_task`` (a task this env has not seen: its gold query runs once),
  and ``step`` with one exploration query, one submitted answer, and one query that errors. Medians over
  many calls, in milliseconds; n = 200 (``--quick``: 30). All envs take turns call by call (one call of
  each, then the next round), so that machine load falls on all of them alike.
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
from collections.abc import Callable
from pathlib import Path

from densegym.envs.sql import SQLEnv
from densegym.envs.sql.materialize import ensure_sqlite
from densegym.envs.sql.tasks import bundled_task_ids, generated_task

TASK = "gen:retail:1000:0:join_count:0"
EXPLORE = "SELECT status, COUNT(*) FROM orders GROUP BY status"
BROKEN = "SELECT nope FROM orders"


OPS = ("reset", "reset_new_task", "step_query", "step_error", "step_answer")
Op = tuple[Callable[[], object] | None, Callable[[], object]]  # (untimed set-up, timed call)


def densegym_ops(backend: str, cache: Path, dsn: str | None, stack: ExitStack) -> dict[str, Op]:
    env = SQLEnv(backend, rows=1000, cache_dir=cache, postgres_dsn=dsn, max_turns=10**9)
    stack.callback(env.close)
    env.reset(options={"task": TASK})  # build and open the database once
    gold = env.task.gold_sql
    fresh_ids = [t for t in bundled_task_ids(1000, 0, schemas=["retail"]) if t != TASK]
    for task_id in fresh_ids:  # realize the questions first: question generation is not the env's reset
        generated_task(task_id, cache)
    fresh, counter = iter(fresh_ids), iter(range(10**9))
    state = {"in_episode": False}

    def episode():  # an episode to step in (the step ops never end it, except the answer)
        if not state["in_episode"]:
            env.reset(options={"task": TASK})
            state["in_episode"] = True

    def answer_setup():
        env.reset(options={"task": TASK})
        state["in_episode"] = False

    return {
        "reset": (None, lambda: env.reset(options={"task": TASK})),
        "reset_new_task": (None, lambda: env.reset(options={"task": next(fresh)})),
        # Each query text is new (a fresh LIMIT / comment), so that no parse or result cache helps.
        "step_query": (episode, lambda: env.step(f"<sql>{EXPLORE} LIMIT {1000 + next(counter)}</sql>")),
        "step_error": (episode, lambda: env.step(f"<sql>{BROKEN}</sql>")),
        "step_answer": (answer_setup, lambda: env.step(f"<answer>{gold} /* {next(counter)} */</answer>")),
    }


def skyrl_ops(cache: Path, stack: ExitStack) -> dict[str, Op] | None:
    try:
        from skyrl_gym.envs.sql.env import SQLEnv as SkyRLSQLEnv
        from skyrl_gym.envs.sql.env import Text2SQLEnvConfig
    except ImportError:
        return None
    task = generated_task(TASK, cache)
    db_id = "densegym_retail"
    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="skyrl-sql-")))
    (root / "spider" / "database" / db_id).mkdir(parents=True)
    os.symlink(ensure_sqlite("retail", 1000, 0, cache), root / "spider" / "database" / db_id / f"{db_id}.sqlite")
    extras = {"db_id": db_id, "reward_spec": {"ground_truth": task.gold_sql}, "data": "spider", "max_turns": 10**9}
    config = Text2SQLEnvConfig(db_path=str(root))

    def make():
        env = SkyRLSQLEnv(config, extras)
        env.init([{"role": "user", "content": task.question}])
        return env

    holder, counter = {"env": make()}, iter(range(10**9))

    def answer_setup():
        holder["answer"] = make()

    return {
        "reset": (None, make),  # SkyRL builds one env per episode
        "reset_new_task": (None, make),  # ... whatever the task
        "step_query": (None, lambda: holder["env"].step(f"<sql>{EXPLORE} LIMIT {1000 + next(counter)}</sql>")),
        "step_error": (None, lambda: holder["env"].step(f"<sql>{BROKEN}</sql>")),
        "step_answer": (answer_setup, lambda: holder["answer"].step(
            f"<think>the gold query</think><solution>{task.gold_sql} /* {next(counter)} */</solution>")),
    }


def measure(libraries: dict[str, dict[str, Op]], n: int) -> dict[str, dict[str, float]]:
    """Median ms per operation; the libraries take turns call by call, so they share the machine's load."""
    times: dict[str, dict[str, list[float]]] = {lib: {op: [] for op in OPS} for lib in libraries}
    for op in OPS:
        for _ in range(n):
            for lib, ops in libraries.items():
                setup, call = ops[op]
                if setup is not None:
                    setup()
                start = time.perf_counter()
                call()
                times[lib][op].append(time.perf_counter() - start)
    return {lib: {op: 1000 * statistics.median(t) for op, t in ops.items()} for lib, ops in times.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    n = 30 if args.quick else 200  # <= the 287 retail tasks that reset_new_task walks through
    names = ["densegym sqlite", "densegym duckdb", "densegym postgres", "skyrl-gym sqlite"]
    with ExitStack() as stack:
        cache = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="densegym-bench-sql-")))
        libraries: dict[str, dict[str, Op]] = {"densegym sqlite": densegym_ops("sqlite", cache, None, stack)}
        try:
            import duckdb  # noqa: F401

            libraries["densegym duckdb"] = densegym_ops("duckdb", cache, None, stack)
        except ImportError:
            pass
        from densegym.envs.sql.pgcluster import cluster_available, temporary_cluster

        dsn = os.environ.get("DENSEGYM_POSTGRES_DSN")
        if dsn is None and cluster_available():
            dsn = stack.enter_context(temporary_cluster(port=54339))
        if dsn:
            libraries["densegym postgres"] = densegym_ops("postgres", cache, dsn, stack)
        peer = skyrl_ops(cache, stack)
        if peer is not None:
            libraries["skyrl-gym sqlite"] = peer
        results = measure(libraries, n)

    base = results["densegym sqlite"]
    print(f"SQL env latency, median ms over {n} interleaved calls ({platform.machine()}, "
          f"python {platform.python_version()}); ratio = time / densegym sqlite time")
    print(f"{'env':<20}" + "".join(f"{k:>22}" for k in OPS))
    for name in names:
        row = results.get(name)
        if row is None:
            print(f"{name:<20}  (not installed)")
            continue
        print(f"{name:<20}" + "".join(f"{row[k]:>12.3f} ({row[k] / base[k]:>5.2f}x)" for k in OPS))
    if args.json:
        Path(args.json).write_text(json.dumps({"n": n, "results": results}, indent=2))
    return results


if __name__ == "__main__":
    main()
