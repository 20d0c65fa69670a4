"""Rollout throughput on Sokoban with a scripted (random-move) agent, all measured in one run.

Compares, at the same number of envs in flight:

* stepping the envs one after another in this process (the floor: no IPC at all);
* densegym's ``EnvPool`` with 1, 2 and 4 worker processes;
* Gymnasium's ``AsyncVectorEnv`` (one process per env) on the same densegym env;
* densegym's ``RayEnvPool`` with 2 actors on a local Ray instance, when ``ray`` is installed;
* GEM's vector envs (``gem.make_vec``: its serial ``SyncVectorEnv`` and its thread-pool ``AsyncVectorEnv``)
  on GEM's own Sokoban of the same size, when ``gem-llm`` is installed.

Reported: env steps per second, the ratio to AsyncVectorEnv, and the pool's overhead per env step
over stepping the same env serially in process.

Then asynchronous ``collect`` against lockstep ``collect``, in episodes per second, 16 envs in flight on 2
workers, with an agent that answers at once (so that the envs are all there is to wait for):

* a mixed-latency env (:class:`MixedLatencyEnv`: every step sleeps 0-200 ms, drawn from the episode's seed, like
  a test run or a page load), 4 turns an episode;
* Sokoban-small with random moves, 20 turns an episode.

Three ways: ``collect(..., asynchronous=False)`` on ``EnvPool(..., inline_ms=inf)``, which is exactly the
rollout before it was asynchronous (every command of a worker run one after another on its main thread,
every turn waiting for every env); the same lockstep loop on a default pool (a worker's slots on their own
threads: the slow envs of a worker no longer wait for each other, a turn still waits for the slowest env);
and asynchronous ``collect`` (the default). ``python -m benchmarks.bench_rollout [--quick] [--repeats R]
[--json FILE]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import logging
import os
import time

import gymnasium as gym
import numpy as np

import densegym  # noqa: F401
from densegym.agents import AgentOutput
from densegym.envs import StepOutcome, TextEnv, extract_tag
from densegym.rewards import RewardSet, outcome_reward
from densegym.rollout import EnvPool, collect

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


class MixedLatencyEnv(TextEnv):
    """Every step sleeps 0-200 ms (uniform; the delays of an episode are drawn from its seed), like a test run or
    a page load; the episode ends after ``TURNS`` steps."""

    TURNS = 4
    default_max_turns = TURNS
    supports_snapshot = False

    def default_rewards(self) -> RewardSet:
        return RewardSet({"outcome": (outcome_reward(), 1.0)})

    def sample_task(self, rng: np.random.Generator) -> tuple[float, ...]:
        return tuple(float(d) for d in rng.uniform(0.0, 0.2, size=self.TURNS))

    def start(self, task: tuple[float, ...]) -> str:
        self.delays, self.done = task, 0
        return "Reply <action>anything</action>."

    def parse_action(self, text: str) -> str:
        return extract_tag(text) or ""

    def apply_action(self, action: str) -> StepOutcome:
        time.sleep(self.delays[self.done])
        self.done += 1
        done = self.done >= self.TURNS
        return StepOutcome("Done." if done else "Next.", terminated=done, success=done, outcome=float(done))

    def state_view(self) -> int:
        return self.done

    def anchor(self) -> str:
        return str(self.done)


class InstantAgent:
    """Answers every conversation at once: a random Sokoban move (seeded), which any env accepts as an action."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def act(self, conversations):
        return [AgentOutput(text=a) for a in _actions(self.rng, len(conversations))]


COLLECT_MODES = {  # name -> (EnvPool's inline_ms, collect's asynchronous)
    "lockstep, as before (serial workers)": (float("inf"), False),
    "lockstep, threaded workers": (2.0, False),
    "asynchronous collect": (2.0, True),
}


def bench_collect(env: str | type, inline_ms: float, asynchronous: bool, episodes: int, max_turns: int | None,
                  num_envs: int = 16, workers: int = 2) -> float:
    """Episodes per second of ``collect`` over ``episodes`` tasks (one sample each) with the instant agent."""
    with EnvPool(env, num_envs=num_envs, num_workers=workers, inline_ms=inline_ms) as pool:
        collect(InstantAgent(), pool, list(range(num_envs)), max_turns=max_turns, progress=False,
                asynchronous=asynchronous)  # warm up: every worker's slots have run
        start = time.perf_counter()
        groups = collect(InstantAgent(), pool, list(range(1000, 1000 + episodes)), max_turns=max_turns,
                         progress=False, asynchronous=asynchronous)
        elapsed = time.perf_counter() - start
    failed = [t for g in groups for t in g if t.meta.get("failed")]
    if failed:
        raise RuntimeError(f"{len(failed)} episodes failed: {failed[0].meta['failed']}")
    return episodes / elapsed


def run_collect(quick: bool = False, repeats: int = 3) -> dict:
    """Asynchronous vs lockstep ``collect`` on the mixed-latency env and on Sokoban, best of ``repeats`` each,
    the modes taking turns within a repeat."""
    # the class as the workers can import it (under ``python -m`` this module is ``__main__``, which dill would
    # ship by value instead)
    mixed = importlib.import_module("benchmarks.bench_rollout").MixedLatencyEnv
    cases = {
        "mixed latency (0-200 ms a step)": (mixed, 16 if quick else 48, None),
        "Sokoban-small, random moves": (ENV_ID, 16 if quick else 160, 20),
    }
    report: dict[str, dict[str, float]] = {}
    for case, (env, episodes, max_turns) in cases.items():
        rows: dict[str, float] = {}
        for _ in range(repeats):
            for mode, (inline_ms, asynchronous) in COLLECT_MODES.items():
                eps = bench_collect(env, inline_ms, asynchronous, episodes, max_turns)
                rows[mode] = max(rows.get(mode, 0.0), eps)
        report[case] = rows
    return {"num_envs": 16, "workers": 2, "repeats": repeats, "episodes_per_s": report}


def format_collect_table(report: dict) -> str:
    lines = [
        f"collect, {report['num_envs']} envs in flight on {report['workers']} workers, an instant agent, "
        f"episodes/s, best of {report['repeats']}",
        f"{'env':<34} {'mode':<38} {'episodes/s':>10} {'async vs this':>14}",
    ]
    for case, rows in report["episodes_per_s"].items():
        fastest = rows["asynchronous collect"]
        for mode, eps in rows.items():
            lines.append(f"{case:<34} {mode:<38} {eps:>10.2f} {fastest / eps:>13.2f}x")
    return "\n".join(lines)


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
    parser.add_argument("--only", choices=("steps", "collect"), help="run only one of the two tables")
    args = parser.parse_args()
    report = {}
    if args.only != "collect":
        report = run(args.quick, max(1, args.repeats))
        print(format_table(report))
    if args.only != "steps":
        report["collect"] = run_collect(args.quick, max(1, args.repeats))
        print(format_collect_table(report["collect"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
