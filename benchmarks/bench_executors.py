"""Executor latency: one small command per executor, and an episode's reset cold vs from the warm pool.

    python -m benchmarks.bench_executors [-n 30] [--json FILE]

* ``echo hi`` (median ms) on LocalExecutor unisolated (``unsafe_local=True``), LocalExecutor under
  bubblewrap, and DockerExecutor (an exec into a running container), with each one's ratio to the
  unisolated run. Executors take turns call by call, so that machine load falls on all alike.
* An episode's reset with Docker: **cold** = create + start a container + ``restore`` a ~40-file
  repository; **warm** = take a started container from a :class:`~densegym.sandbox.docker.ContainerPool`
  + ``restore`` (one exec); **warm, preloaded** = the same from a pool that loads the repository into its
  idle containers (``ContainerPool(files=...)``), so that ``restore`` finds nothing to do. The pools
  refill in the background between resets (as between episodes), and that refill is not timed: it is
  what a pool takes off the reset's path. Goal: warm <= 1/10 of cold.

Rows whose component is missing (no bubblewrap, no Docker daemon or image) are left out with a note.
``measure_executors(n)`` returns the figures as a dict, for a larger benchmark to fold in.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable

from densegym.sandbox import Limits, LocalExecutor, UnsafeLocalWarning, bubblewrap_path


def sample_repository(n_files: int = 40) -> dict[str, str]:
    """A small Python project: packages of modules and their tests, a few KiB each."""
    files = {"README.md": "# sample\n", "pyproject.toml": "[project]\nname = 'sample'\n"}
    for i in range(n_files - 2):
        pkg = f"sample/part{i % 5}"
        body = "\n".join(f"def f{j}(x):\n    return x * {j} + {i}\n" for j in range(40))
        files[f"{pkg}/mod{i}.py" if i % 3 else f"tests/test_mod{i}.py"] = body
    return files


def _median_ms(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def _interleaved_ms(fns: dict[str, Callable[[], object]], n: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(n):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) * 1e3 for name, ts in times.items()}


def measure_executors(n: int = 30, n_files: int = 40) -> dict:
    """Median latencies in ms: ``command`` (``echo hi`` per executor), ``reset`` (cold and warm), their
    ratios, and ``notes`` on what could not run here."""
    notes: list[str] = []
    limits = Limits(timeout_s=30)
    executors: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeLocalWarning)
        executors["local_unisolated"] = LocalExecutor(use_bubblewrap=False, unsafe_local=True, limits=limits)
    if bubblewrap_path() is not None:
        executors["local_bubblewrap"] = LocalExecutor(use_bubblewrap=True, limits=limits)
    else:
        notes.append("bubblewrap: not installed here")
    from densegym.sandbox.docker import ContainerPool, DockerExecutor, docker_available

    docker_ok = docker_available()
    if docker_ok:
        executors["docker"] = DockerExecutor(limits=limits)
    else:
        notes.append("docker: no daemon or no sandbox image (bash docker/build.sh)")
    result: dict = {"n": n, "notes": notes}
    try:
        for ex in executors.values():
            ex.run(["echo", "hi"])  # warm-up: first-use probes and caches
        command = _interleaved_ms({name: (lambda ex=ex: ex.run(["echo", "hi"])) for name, ex in executors.items()}, n)
        base = command["local_unisolated"]
        result["command_ms"] = command
        result["command_ratio_to_unisolated"] = {name: ms / base for name, ms in command.items()}
    finally:
        for ex in executors.values():
            ex.close()
    if docker_ok:
        repo = sample_repository(n_files)
        runs = max(5, n // 3)

        plain, preloaded = ContainerPool(size=2), ContainerPool(size=2, files=repo)
        try:
            cold_times, warm_times, preloaded_times = [], [], []
            for _ in range(runs):
                t0 = time.perf_counter()
                ex = DockerExecutor(limits=limits)
                ex.restore(repo)
                cold_times.append(time.perf_counter() - t0)
                ex.close()
                for pool, times in ((plain, warm_times), (preloaded, preloaded_times)):
                    _wait_for(pool, 2)  # the refill happens between episodes, off the reset's path
                    t0 = time.perf_counter()
                    ex = pool.acquire(limits)
                    ex.restore(repo)
                    times.append(time.perf_counter() - t0)
                    ex.close()
            cold_ms, warm_ms, preloaded_ms = (statistics.median(t) * 1e3 for t in (cold_times, warm_times, preloaded_times))
            result["reset_ms"] = {"cold": cold_ms, "warm": warm_ms, "warm_preloaded": preloaded_ms, "files": len(repo),
                                  "runs": runs}  # fmt: skip
            result["reset_warm_over_cold"] = warm_ms / cold_ms
            result["reset_warm_preloaded_over_cold"] = preloaded_ms / cold_ms
        finally:
            plain.close()
            preloaded.close()
    return result


def _wait_for(pool, idle: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while pool.idle < idle and time.monotonic() < deadline:
        time.sleep(0.05)


def _print(result: dict) -> None:
    print(f"echo hi, median of {result['n']} (ms):")
    for name, ms in result.get("command_ms", {}).items():
        print(f"  {name:<18} {ms:8.1f}   x{result['command_ratio_to_unisolated'][name]:.1f} of unisolated")
    if "reset_ms" in result:
        r = result["reset_ms"]
        print(f"reset of a {r['files']}-file repository, median of {r['runs']} (ms):")
        print(f"  cold (create + start + restore) {r['cold']:8.1f}")
        print(f"  warm (pool + restore)           {r['warm']:8.1f}   = {result['reset_warm_over_cold']:.3f} of cold")
        print(f"  warm, repository preloaded      {r['warm_preloaded']:8.1f}   = "
              f"{result['reset_warm_preloaded_over_cold']:.4f} of cold")
    for note in result["notes"]:
        print(f"  (left out: {note})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=30, help="calls per measurement")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    result = measure_executors(args.n)
    _print(result)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
