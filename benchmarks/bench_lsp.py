"""LSPCode benchmark: reward latency per edit against the naive checker-per-edit approach, and memory per env.

    python -m benchmarks.bench_lsp [--quick] [--edits N] [--json FILE]

Latency per edit, on the same workspace and the same edits (a file toggled between its defective and
its fixed text, so every edit changes the diagnostics):

* **densegym**: the env's long-lived basedpyright server: incremental ``didChange``, then pull the
  diagnostics of every file (``ServerSession.sync`` + ``diagnostics``): exactly what a reward needs;
  also with ``freshness="push"``, waiting for the ``publishDiagnostics`` of the new version first;
* **densegym env.step**: the whole ``edit`` step (jail, atomic write, the above, safety checks, bundle);
* **naive**: write the file and run ``basedpyright --outputjson`` on the workspace per edit (a fresh
  checker process each time, as an env without a language server would).

Both report identical diagnostics (checked on every edit). Memory per env: the resident memory of the
server's process group plus this process's growth when the env was built and reset.

The hidden-test run, sandboxed (bubblewrap, the default) against unisolated (``unsafe_local=True``), both
through the same verdict (signed stream, exit status, canaries), on the same workspace, interleaved run by
run so that machine load falls on both alike; the two give the same verdict (checked on every run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import time
import warnings

from densegym.envs.lsp import LSPCodeEnv
from densegym.envs.lsp.servers import find_executable, server_version
from densegym.envs.lsp.tasks import generate
from densegym.envs.lsp.testrun import run_hidden_tests
from densegym.sandbox import Limits, LocalExecutor, UnsafeLocalWarning, Workspace
from densegym.sandbox.processes import live_processes_in_group

TASK = "lsp:inventory:d1:0"


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _group_rss_mib(pgid: int) -> float:
    return sum(_rss_kib(pid) for pid in live_processes_in_group(pgid)) / 1024


def _cli_diagnostics(root) -> list[tuple]:
    out = subprocess.run([find_executable("basedpyright"), "--outputjson", "-p", str(root)], cwd=root,
                         capture_output=True, text=True, timeout=300).stdout  # fmt: skip
    report = json.loads(out)
    return sorted(
        (os.path.relpath(d["file"], root), d["range"]["start"]["line"], d["range"]["start"]["character"],
         d["range"]["end"]["line"], d["range"]["end"]["character"], d["severity"], d.get("rule", ""), d["message"])
        for d in report["generalDiagnostics"]
    )  # fmt: skip


def _ours(diags) -> list[tuple]:
    return sorted((d["file"], *d["range"], d["severity"], d["rule"], d["message"]) for d in diags)


def _stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"p50_ms": 1000 * statistics.median(xs), "p95_ms": 1000 * xs[min(len(xs) - 1, int(0.95 * len(xs)))],
            "mean_ms": 1000 * statistics.fmean(xs), "n": len(xs)}  # fmt: skip


def test_runs(n: int) -> dict:
    """The hidden tests of the defective task, sandboxed and unisolated, alternating."""
    task = generate(TASK)
    ws = Workspace(task.files)
    sandboxed = LocalExecutor(workspace=ws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeLocalWarning)
        unisolated = LocalExecutor(use_bubblewrap=False, unsafe_local=True, workspace=ws)
    limits = Limits(timeout_s=60)
    times: dict[str, list[float]] = {"sandboxed": [], "unisolated": []}
    verdicts = set()
    try:
        for i in range(n):
            order = [("sandboxed", sandboxed), ("unisolated", unisolated)]
            for name, executor in order if i % 2 == 0 else order[::-1]:
                t = time.perf_counter()
                verdict = run_hidden_tests(executor, task.tests, limits)
                times[name].append(time.perf_counter() - t)
                assert not verdict.tampered and verdict.total > 0, verdict.reasons
                verdicts.add((verdict.passed, verdict.failed, verdict.text))
    finally:
        ws.cleanup()
    assert len(verdicts) == 1, "the sandboxed and unisolated runs disagree"
    out = {name: _stats(ts) for name, ts in times.items()}
    out["ratio_sandboxed_over_unisolated_p50"] = out["sandboxed"]["p50_ms"] / out["unisolated"]["p50_ms"]
    return out


def run(edits: int, naive_edits: int) -> dict:
    task = generate(TASK)
    defect = task.defects[0]
    bad, good = task.files[defect.file], task.gold[defect.file]

    base_rss = _rss_kib(os.getpid())
    t0 = time.perf_counter()
    env = LSPCodeEnv()
    env.reset(options={"task": TASK})
    reset_s = time.perf_counter() - t0
    try:
        ws, session = env.ws, env.session
        step_times, naive_times = [], []
        mode_times: dict[str, list[float]] = {"pull": [], "push": []}
        for mode, times in mode_times.items():
            session.freshness = mode
            for i in range(edits):
                ws.write(defect.file, good if i % 2 == 0 else bad)
                t = time.perf_counter()
                session.sync()
                session.diagnostics()
                times.append(time.perf_counter() - t)
        session.freshness = "pull"
        lsp_times = mode_times["pull"]
        ws.write(defect.file, bad)
        session.sync()
        for i in range(edits):
            text = good if i % 2 == 0 else bad
            t = time.perf_counter()
            _, _, _, _, info = env.step(f"<action>edit {defect.file}\n{text}</action>")
            step_times.append(time.perf_counter() - t)
            assert info["action_valid"], info["action_error"]
        for i in range(naive_edits):
            ws.write(defect.file, good if i % 2 == 0 else bad)
            session.sync()
            ours = _ours(session.diagnostics())
            t = time.perf_counter()
            cli = _cli_diagnostics(ws.root)
            naive_times.append(time.perf_counter() - t)
            assert cli == ours, "the language server and the command line disagree"
        resets = []
        for _ in range(5):
            t = time.perf_counter()
            env.reset(options={"task": TASK})
            resets.append(time.perf_counter() - t)
        server_mib = _group_rss_mib(session.client.pid)
        python_mib = (_rss_kib(os.getpid()) - base_rss) / 1024
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        env.close()
    lsp, step, naive = _stats(lsp_times), _stats(step_times), _stats(naive_times)
    push = _stats(mode_times["push"])
    return {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "server": server_version()},
        "task": TASK,
        "latency": {"densegym_lsp": lsp, "densegym_lsp_push": push, "densegym_env_step": step, "naive_cli": naive},
        "ratio_naive_over_lsp_p50": naive["p50_ms"] / lsp["p50_ms"],
        "ratio_naive_over_step_p50": naive["p50_ms"] / step["p50_ms"],
        "memory_mib": {"server_group_rss": server_mib, "python_growth": python_mib, "python_peak": peak_mib},
        "reset_first_s": reset_s,
        "reset_again_ms_p50": 1000 * statistics.median(resets),
        "hidden_test_run": test_runs(max(4, edits // 3)),
    }


def table(r: dict) -> str:
    lat = r["latency"]
    rows = [
        "| reward latency per edit | p50 ms | p95 ms | n |",
        "|---|---|---|---|",
        *(f"| {name} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | {s['n']} |" for name, s in (
            ("densegym: didChange -> pulled diagnostics (long-lived server, default)", lat["densegym_lsp"]),
            ("densegym: didChange -> published diagnostics of that version (freshness=push)", lat["densegym_lsp_push"]),
            ("densegym: whole `edit` env.step", lat["densegym_env_step"]),
            ("naive: `basedpyright --outputjson` per edit", lat["naive_cli"]),
        )),
        "",
        f"ratio naive / densegym server: {r['ratio_naive_over_lsp_p50']:.1f}x;  naive / whole env.step: "
        f"{r['ratio_naive_over_step_p50']:.1f}x (p50)",
        f"memory per env: server process group {r['memory_mib']['server_group_rss']:.0f} MiB RSS, "
        f"python side +{r['memory_mib']['python_growth']:.0f} MiB; first reset (server start + tests) {r['reset_first_s']:.1f} s, "
        f"later resets {r['reset_again_ms_p50']:.0f} ms (p50)",
        "",
        "| hidden-test run (same verdict, interleaved) | p50 ms | p95 ms | n |",
        "|---|---|---|---|",
        *(f"| {name} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | {s['n']} |" for name, s in (
            ("sandboxed: bubblewrap (default)", r["hidden_test_run"]["sandboxed"]),
            ("unisolated: unsafe_local=True", r["hidden_test_run"]["unisolated"]),
        )),
        f"ratio sandboxed / unisolated: {r['hidden_test_run']['ratio_sandboxed_over_unisolated_p50']:.2f}x (p50)",
        f"server: {r['machine']['server']}; {r['machine']['cpus']} CPUs, Python {r['machine']['python']}",
    ]  # fmt: skip
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a few edits only (smoke test)")
    p.add_argument("--edits", type=int, default=30)
    p.add_argument("--naive-edits", type=int, default=8)
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)
    edits, naive = (4, 2) if args.quick else (args.edits, args.naive_edits)
    result = run(edits, naive)
    print(table(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
