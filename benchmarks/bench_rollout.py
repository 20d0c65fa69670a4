"""Rollout throughput on Sokoban with a scripted (random-move) agent, all measured in one run.

Compares, at the same number of envs in flight:

* stepping the envs one after another in this process (the floor: no IPC at all);
* densegym's ``EnvPool`` with 1, 2 and 4 worker processes;
* Gymnasium's ``AsyncVectorEnv`` (one process per env) on the same densegym env;
* GEM's vector env on GEM's own Sokoban, when ``gem-llm`` is installed.

Reported: env steps per second, the ratio to AsyncVectorEnv, and the pool's overhead per env step
over stepping in process. ``python -m benchmarks.bench_rollout [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
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


def bench_envpool(num_envs: int, workers: int, steps: int) -> float:
    with EnvPool(ENV_ID, num_envs=num_envs, num_workers=workers) as pool:
        pool.reset({s: (s, None, s) for s in range(num_envs)})
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for _ in range(steps):
            results = pool.step(dict(enumerate(_actions(rng, num_envs))))
            done = {s: (None, None, s) for s, r in results.items() if r[2] or r[3]}
            if done:
                pool.reset(done)
        return steps * num_envs / (time.perf_counter() - start)


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
        vec.close()


def bench_gem_vector(num_envs: int, steps: int) -> float | str:
    try:
        import gem
    except ImportError:
        return "not installed (pip install -r benchmarks/requirements.txt)"
    try:
        vec = gem.make_vec(["game:Sokoban-v0-easy"] * num_envs)
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
        close = getattr(vec, "close", None)
        if close:
            close()


def run(quick: bool = False) -> dict:
    num_envs = 8
    steps = 40 if quick else 400
    results: dict[str, float | str] = {"in-process (serial)": bench_in_process(num_envs, steps)}
    for workers in (1, 2, 4):
        results[f"EnvPool, {workers} worker(s)"] = bench_envpool(num_envs, workers, steps)
    results["gymnasium AsyncVectorEnv"] = bench_async_vector(num_envs, steps)
    results["GEM vector env (GEM Sokoban)"] = bench_gem_vector(num_envs, steps)
    return {"num_envs": num_envs, "steps": steps, "steps_per_s": results}


def format_table(report: dict) -> str:
    rows = report["steps_per_s"]
    async_sps = rows["gymnasium AsyncVectorEnv"]
    serial = rows["in-process (serial)"]
    lines = [
        f"Rollout throughput, Sokoban 6x6, random moves, {report['num_envs']} envs in flight, "
        f"{report['steps']} batched steps",
        f"{'runner':<32} {'env steps/s':>12} {'vs AsyncVectorEnv':>18} {'overhead/step':>14}",
    ]
    for name, sps in rows.items():
        if isinstance(sps, str):
            lines.append(f"{name:<32} {sps}")
            continue
        overhead = (1 / sps - 1 / serial) * 1e6
        lines.append(f"{name:<32} {sps:>12,.0f} {sps / async_sps:>17.2f}x {overhead:>11.0f} us")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    report = run(args.quick)
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
