"""SWE env costs, measured in one run and reported as ratios: executors, resets, the tests reward, disk, throughput.

    python -m benchmarks.bench_swe [--quick] [--json FILE]

* **command**: median latency of ``echo hi`` on the local executor unisolated, under bubblewrap and in Docker
  (``benchmarks/bench_executors.py``), as ratios to the unisolated one.
* **reset**: ``SWEEnv.reset`` on the Docker executor with a cold container (created and started for the
  episode, ``warm_pool=0``) and from the warm pool (a started container taken from the pool, the task's files
  loaded with one archive upload); the goal is a warm reset <= 1/10 of a cold one. The local executor's reset
  (a temp dir) beside them.
* **tests reward**: the step latency of a ``view`` (no test run), of an edit that changes the code (the hidden
  FAIL_TO_PASS and PASS_TO_PASS tests run on a pristine copy) and of the same edit again after an undo (the run
  is cached by content hash), per executor: the cost the ``tests`` reward adds to a step.
* **disk**: one image per repository: the sandbox image, each project image's own layer, and the bytes a task
  adds (its record in ``tasks.jsonl``: a patch), against one image per task (SWE-bench's layout: the sandbox
  image plus the repository, per task).
* **throughput**: episodes per second with 8 envs on 2 ``EnvPool`` workers, the oracle playing (one edit with
  its test run, then submit), per executor.

Measured 2026-11-30 on 2 cores (load 1-3), Docker 20.10.24, bubblewrap 0.8, 12 tasks (medians): ``echo hi``
11.2 ms unisolated, 11.7 ms bubblewrap, 48.3 ms Docker; reset cold 185.9 ms, warm 100.6 ms (0.54x), the same
task again 3.5 ms (0.019x), local 6.4 ms; an edit with its hidden test run 618 ms local, 999 ms Docker (cached:
1.9 / 74 ms); 274 MB on disk for 360 tasks against 97.7 GB as one image per task (356x); 2.92 (local) and 1.35
(Docker) episodes per second with 8 envs on 2 workers. The table and its reading: ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time

import densegym
from benchmarks.bench_executors import _wait_for, measure_executors
from densegym.envs.swe import SWEEnv
from densegym.envs.swe.task import TASKS_FILE, bundled_projects, bundled_task_ids


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


def _tasks(n: int, seed: int = 0) -> list[str]:
    ids = bundled_task_ids(difficulty=(1, 2))
    step = max(len(ids) // n, 1)
    return ids[seed::step][:n]


def measure_reset(tasks: list[str]) -> dict:
    """Cold: a container created and started for the episode. Warm: a started container from the image's
    pool, the task's files loaded into it. Warm, same task: a task reset again (a GRPO group's other
    members), from the pool whose idle containers already hold its repository (made at its second reset).
    Each timed reset starts with the pools full: their refills happen between episodes."""
    from densegym.envs.swe.runtime import _task_pools

    out = {}
    for label, kwargs in (("docker_cold", {"executor": "docker", "warm_pool": 0}),
                          ("docker_warm", {"executor": "docker", "warm_pool": 2}),
                          ("local", {"executor": "local"})):  # fmt: skip
        env = SWEEnv(**kwargs)
        times, repeats = [], []
        try:
            for task_id in tasks:  # the project images, and each project's warm pool (one per image)
                env.reset(options={"task": task_id})
            for task_id in tasks:
                if label == "docker_warm":  # refilled between episodes
                    _wait_full(env.runtime.pool(env.runtime.image(env.resolve_task(task_id))))
                t0 = time.perf_counter()
                env.reset(options={"task": task_id})
                times.append(time.perf_counter() - t0)
                if label == "docker_warm":  # the task again: its preloaded pool was made at its second reset
                    rt, task = env.runtime, env.task
                    _wait_full(_task_pools().get(rt.image(task), task, rt.warm_pool, rt.settings))
                    t0 = time.perf_counter()
                    env.reset(options={"task": task_id})
                    repeats.append(time.perf_counter() - t0)
                    _wait_full(rt.pool(rt.image(task)))
            out[label] = _median_ms(times)
            if repeats:
                out["docker_warm_same_task"] = _median_ms(repeats)
        finally:
            env.close()
    out["warm_over_cold"] = out["docker_warm"] / out["docker_cold"]
    out["warm_same_task_over_cold"] = out["docker_warm_same_task"] / out["docker_cold"]
    return out


def _wait_full(pool) -> None:
    """Until every idle slot of ``pool`` is started (the refills happen between episodes, off the reset)."""
    _wait_for(pool, pool.size)


def measure_tests_reward(tasks: list[str], executors: list[str]) -> dict:
    out = {}
    for kind in executors:
        densegym.clear_caches()  # each executor runs the hidden tests itself (they are cached by content hash)
        env = SWEEnv(executor=kind)
        view, edit, cached = [], [], []
        try:
            for task_id in tasks:
                env.reset(options={"task": task_id})
                t0 = time.perf_counter()
                env.step("<action>view README.md</action>")
                view.append(time.perf_counter() - t0)
                fix = env.oracle_action()
                path = fix.split("\n", 1)[0].split()[1]
                t0 = time.perf_counter()
                *_, info = env.step(fix)
                edit.append(time.perf_counter() - t0)
                assert info["swe"]["tests_run"], "an edit must run the hidden tests"
                env.step(f"<action>undo_edit {path}</action>")
                t0 = time.perf_counter()
                env.step(fix)
                cached.append(time.perf_counter() - t0)
        finally:
            env.close()
        out[kind] = {"view_ms": _median_ms(view), "edit_with_test_run_ms": _median_ms(edit),
                     "edit_cached_ms": _median_ms(cached)}  # fmt: skip
        out[kind]["test_run_cost_ms"] = out[kind]["edit_with_test_run_ms"] - out[kind]["edit_cached_ms"]
    return out


def _image_bytes(image: str) -> int:
    return int(subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image], capture_output=True,
                              text=True, check=True).stdout.strip())  # fmt: skip


def measure_disk() -> dict:
    from densegym.envs.swe.task import project_files
    from densegym.sandbox.docker import DEFAULT_IMAGE, ensure_project_image

    base = _image_bytes(DEFAULT_IMAGE)
    layers = {p: _image_bytes(ensure_project_image(p, project_files(p))) - base for p in bundled_projects()}
    records = TASKS_FILE.read_text().splitlines()
    per_task = statistics.mean(len(r.encode()) for r in records)
    n = len(records)
    ours = base + sum(layers.values()) + sum(len(r.encode()) for r in records)
    per_task_images = n * (base + statistics.mean(layers.values()))
    return {"sandbox_image_mb": base / 1e6, "project_layer_kb": {p: b / 1e3 for p, b in layers.items()},
            "task_record_bytes": per_task, "tasks": n, "total_mb": ours / 1e6,
            "one_image_per_task_mb": per_task_images / 1e6, "ratio": per_task_images / ours}  # fmt: skip


def measure_throughput(executors: list[str], episodes: int) -> dict:
    from densegym.agents.scripted import OracleAgent
    from densegym.envpool import EnvPool
    from densegym.rollout import collect

    out = {}
    tasks = _tasks(episodes, seed=1)
    for kind in executors:
        with EnvPool("densegym/SWE-v0", num_envs=8, num_workers=2, env_kwargs={"executor": kind}) as pool:
            collect(OracleAgent(), pool, _tasks(4, seed=3), progress=False)  # images, pools, imports: other tasks
            t0 = time.perf_counter()
            groups = collect(OracleAgent(), pool, tasks, progress=False)
            seconds = time.perf_counter() - t0
        trajs = [t for g in groups for t in g]
        out[kind] = {"episodes_per_s": len(trajs) / seconds, "episodes": len(trajs),
                     "solved": sum(t.success for t in trajs)}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    n = 4 if args.quick else 12
    tasks = _tasks(n)
    result = {"tasks": len(bundled_task_ids()), "projects": bundled_projects()}
    print(f"SWE: {result['tasks']} bundled tasks in {len(result['projects'])} projects; timing {n} tasks", flush=True)
    result["executors"] = measure_executors(10 if args.quick else 30)
    print(json.dumps(result["executors"], indent=1), flush=True)
    result["reset"] = measure_reset(tasks)
    print(json.dumps(result["reset"], indent=1), flush=True)
    result["tests_reward"] = measure_tests_reward(tasks[: max(n // 2, 2)], ["local", "docker"])
    print(json.dumps(result["tests_reward"], indent=1), flush=True)
    result["disk"] = measure_disk()
    print(json.dumps(result["disk"], indent=1), flush=True)
    result["throughput"] = measure_throughput(["local", "docker"], 8 if args.quick else 24)
    print(json.dumps(result["throughput"], indent=1), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
