"""Rollout throughput on Sokoban with a scripted (random-move) agent, all measured in one run.

Compares, at the same number of envs in flight:

* stepping the envs one after another in this process (the floor: no IPC at all);
* densegym's ``EnvPool`` with 1, 2 and 4 worker processes;
* Gymnasium's ``AsyncVectorEnv`` (one process per env) on the same densegym env;
* densegym's ``RayEnvPool`` with 2 actors on a local Ray instance, when ``ray`` is installed;
* GEM's vector envs (``gem.make_vec``: its serial ``SyncVectorEnv`` and its thread-pool ``AsyncVectorEnv``)
  on GEM's own Sokoban of the same size, when ``gem-llm`` is installed.

Reported: env steps per second, the ratio to AsyncVectorEnv, and the pool's overhead per env step
over stepping the same env serially in process. ``python -m benchmarks.bench_rollout [--quick] [--repeats R]
[--json FILE]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import time

import gymnasium as gym
import numpy as np

import densegym  # noqa: F401
from densegym.rollout import EnvPool

ENV_ID = "densegym/Sokoban-small-v0"
MOVES = ("up", "down", "left", "right")


def _actions(rng: np.random.Generator, n: int) -> list[str]:
    return [f"<action>{MOVES[i]}</action>" for i in rng.integers(4, size=n)]


def bench_in_process(num_envs: int, steps: int) -> float:
    envs = [gym.make(ENV_ID) for _ in range(num_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps):
        for env, action in zip(envs, _actions(rng, num_envs)):
            _, _, term, trunc, _ = env.step(action)
            if term or trunc:
                env.reset()
    return steps * num_envs / (time.perf_counter() - start)


def _time_pool(pool, num_envs: int, steps: int) -> float:
    """Env steps/s of random moves in an EnvPool or RayEnvPool, resetting the envs whose episode ended."""
    pool.reset({s: (s, None, s) for s in range(num_envs)})
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps):
        results = pool.step(dict(enumerate(_actions(rng, num_envs))))
        done = {s: (None, None, s) for s, r in results.items() if r[2] or r[3]}
        if done:
            pool.reset(done)
    return steps * num_envs / (time.perf_counter() - start)


def bench_envpool(num_envs: int, workers: int, steps: int) -> float:
    with EnvPool(ENV_ID, num_envs=num_envs, num_workers=workers) as pool:
        return _time_pool(pool, num_envs, steps)


def bench_async_vector(num_envs: int, steps: int) -> float:
    vec = gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode="async")
    try:
        vec.reset(seed=0)
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for _ in range(steps):
            vec.step(tuple(_actions(rng, num_envs)))  # autoreset is built in
        return steps * num_envs / (time.perf_counter() - start)
    finally:
        vec.close(terminate=True)  # do not wait on a worker that failed mid-step


def bench_ray_pool(num_envs: int, workers: int, steps: int, repeats: int = 1) -> float | str:
    """densegym's ``RayEnvPool`` on a local Ray instance bound to 127.0.0.1 (started and stopped here)."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # single node: loopback only
    try:
        import ray

        from densegym.raypool import RayEnvPool
    except ImportError:
        return "not installed (pip install 'densegym[ray]')"
    ray.init(
        address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
    )
    try:
        with RayEnvPool(ENV_ID, num_envs=num_envs, num_workers=workers) as pool:
            return max(_time_pool(pool, num_envs, steps) for _ in range(repeats))
    finally:
        ray.shutdown()


def bench_gem_vector(num_envs: int, steps: int, async_mode: bool) -> float | str:
    """GEM's own vector env (``gem.make_vec``) on GEM's Sokoban, 6x6 with 2 boxes like Sokoban-small.

    ``gem.make_vec(env_ids, async_mode=...)`` (gem-llm 0.1.0) builds a ``SyncVectorEnv`` (a loop in this
    process) or an ``AsyncVectorEnv`` (a thread pool, one thread per env: no processes); both auto-reset
    an env in the same step that ends it. Actions are GEM's ``\\boxed{move}`` format.
    """
    try:
        import gem
    except ImportError:
        return "not installed (pip install -r benchmarks/requirements.txt)"
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # make_vec prints which vector env it built
            vec = gem.make_vec(["game:Sokoban-v0-easy"] * num_envs, async_mode=async_mode, seed=0)
    except Exception as exc:  # a GEM API change should not hide the other rows
        return f"failed: {type(exc).__name__}: {exc}"
    try:
        vec.reset(seed=0)
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for _ in range(steps):
            vec.step([f"\\boxed{{{m}}}" for m in rng.choice(MOVES, size=num_envs)])
        return steps * num_envs / (time.perf_counter() - start)
    finally:
        # gem-llm 0.1.0's vector envs have no close(); the async one owns a thread pool
        pool = getattr(vec, "thread_pool_executer", None)
        if pool is not None:
            pool.shutdown(wait=True)


GEM_SERIAL = "GEM SyncVectorEnv (GEM Sokoban)"


def run(quick: bool = False, repeats: int = 3) -> dict:
    """Each runner's best of ``repeats``; the runners take turns within a repeat, so that load from other
    jobs on the machine falls on all of them alike rather than on whichever ran during a busy moment."""
    num_envs = 8
    steps = 40 if quick else 400
    runners = {
        "in-process (serial)": lambda: bench_in_process(num_envs, steps),
        **{f"EnvPool, {w} worker(s)": (lambda w=w: bench_envpool(num_envs, w, steps)) for w in (1, 2, 4)},
        "gymnasium AsyncVectorEnv": lambda: bench_async_vector(num_envs, steps),
        GEM_SERIAL: lambda: bench_gem_vector(num_envs, steps, async_mode=False),
        "GEM AsyncVectorEnv (threads)": lambda: bench_gem_vector(num_envs, steps, async_mode=True),
    }
    results: dict[str, float | str] = {}
    for _ in range(repeats):
        for name, runner in runners.items():
            results[name] = _best(results.get(name), runner())
    # Last, with its repeats inside one Ray instance: AsyncVectorEnv forks this process, and a fork after
    # Ray has run here (its threads linger past ray.shutdown) can deadlock the child.
    results["RayEnvPool, 2 actors"] = bench_ray_pool(num_envs, 2, steps, repeats)
    return {"num_envs": num_envs, "steps": steps, "repeats": repeats, "steps_per_s": results}


def _best(old: float | str | None, new: float | str) -> float | str:
    if isinstance(new, str) or old is None or isinstance(old, str):
        return new
    return max(old, new)


def format_table(report: dict) -> str:
    """Steps/s, the ratio to gymnasium's AsyncVectorEnv, and the overhead per env step over stepping the same
    env serially in process (densegym's serial loop for densegym rows, GEM's SyncVectorEnv for GEM's)."""
    rows = report["steps_per_s"]
    async_sps = rows["gymnasium AsyncVectorEnv"]
    lines = [
        f"Rollout throughput, Sokoban 6x6 with 2 boxes, random moves, {report['num_envs']} envs in flight, "
        f"{report['steps']} batched steps, best of {report['repeats']}",
        f"{'runner':<32} {'env steps/s':>12} {'vs AsyncVectorEnv':>18} {'overhead/step':>14}",
    ]
    for name, sps in rows.items():
        if isinstance(sps, str):
            lines.append(f"{name:<32} {sps}")
            continue
        serial = rows[GEM_SERIAL] if name.startswith("GEM") else rows["in-process (serial)"]
        overhead = f"{(1 / sps - 1 / serial) * 1e6:>11.0f} us" if isinstance(serial, float) else f"{'-':>14}"
        lines.append(f"{name:<32} {sps:>12,.0f} {sps / async_sps:>17.2f}x {overhead}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="each runner's best of this many (default 3)")
    parser.add_argument("--json")
    args = parser.parse_args()
    report = run(args.quick, max(1, args.repeats))
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
