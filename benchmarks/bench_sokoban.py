"""Sokoban benchmark: env steps/s against GEM and TextArena, and the oracle's precompute time per level.

    python -m benchmarks.bench_sokoban [--quick] [--json FILE]

Steps/s: every library steps its own *unwrapped* Sokoban env on levels of the same room size and box
count, with the same episode length (``max_turns``), on random *legal* moves (so that no library's
invalid-move path or early termination is measured). Each episode's moves are drawn once on a copy of
the env; the timed run replays them on a fresh copy of the same start state, so the timed loop holds
nothing but the env's own work: ``step`` (densegym, GEM) or ``step`` + ``get_observation``
(TextArena, whose ``step`` returns no observation). Level generation and resets are not timed. The
libraries take turns within each repeat, each repeat about as long for every library (a faster one
replays its episodes more times); a library's figure is its best repeat. Steps are timed by the
thread's CPU time (``--clock wall`` for elapsed time), so that other jobs on a shared machine do not
decide the ratio.

Oracle: ``SokobanOracle(level)`` timed on freshly generated levels (the cost a reset pays when the
level's oracle is not cached yet).
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable

MOVES = ("up", "down", "left", "right")
DELTAS = ((-1, 0), (1, 0), (0, -1), (0, 1))
MAX_TURNS = 100  # episode length for every library

STEP_CONFIGS = [((6, 6), 2), ((8, 8), 3)]
ORACLE_CONFIGS = [((6, 6), 2), ((7, 7), 2), ((8, 8), 3), ((10, 10), 4)]
TARGET_RATIO = 2.0  # densegym steps/s >= 2x the faster peer
TARGET_ORACLE = ((6, 6), 2, 50.0)  # p95 oracle ms for 6x6 with 2 boxes


# ---- one adapter per library -----------------------------------------------------------------


@dataclass
class Lib:
    """How to build, reset, read legal moves from and step one library's Sokoban env."""

    name: str
    make: Callable[[tuple[int, int], int], Any]
    reset: Callable[[Any, int], None]
    legal: Callable[[Any], list[str]]
    action: Callable[[str], str]
    step: Callable[[Any, str], bool]  # returns whether the episode ended


def _grid_legal(room, player) -> list[str]:
    """Legal moves on the gym-sokoban grid codes GEM and TextArena share (0 wall, 1 floor, 2 goal, 3/4 box)."""
    r, c = int(player[0]), int(player[1])
    out = []
    for name, (dr, dc) in zip(MOVES, DELTAS):
        ahead = int(room[r + dr, c + dc])
        if ahead in (1, 2) or (ahead in (3, 4) and int(room[r + 2 * dr, c + 2 * dc]) in (1, 2)):
            out.append(name)
    return out


def _densegym() -> Lib:
    import gymnasium as gym

    import densegym  # noqa: F401  (registers the ids)

    def make(dim, boxes):
        kwargs = dict(dim_room=dim, num_boxes=boxes, max_turns=MAX_TURNS, disable_env_checker=True)
        env = gym.make("densegym/Sokoban-v0", **kwargs).unwrapped
        # every component is computed anyway; give the zero-weight ones a weight too ("all on")
        off = {name: 1.0 for name, w in env.rewards.weights.items() if w == 0.0}
        return gym.make("densegym/Sokoban-v0", rewards=off, **kwargs).unwrapped if off else env

    def legal(env):
        board, key = env.oracle.board, env.save_state()
        return [m for i, m in enumerate(MOVES) if board.move(key, i) is not None]

    def step(env, a):
        _, _, term, trunc, _ = env.step(a)
        return term or trunc

    return Lib(
        "densegym", make, lambda env, s: env.reset(seed=s), legal,
        lambda m: f"<action>{m}</action>", step,
    )


def _densegym_nocache() -> Lib:
    """densegym with its per-state cache emptied before every step.

    ``SokobanEnv`` memoises per state (within an episode) the oracle's view, the anchor, the privileged
    dict and the rendered grid, and a random walk revisits most states (about 75-80% of the steps here).
    The peers render the board afresh on every step, so this variant shows densegym doing the same:
    every step recomputes the state before and after the move and renders the grid (``_states`` is
    private; only the benchmark touches it).
    """
    lib = _densegym()

    def step(env, a):
        env._states.clear()
        _, _, term, trunc, _ = env.step(a)
        return term or trunc

    return Lib("densegym-nocache", lib.make, lib.reset, lib.legal, lib.action, step)


def _gem() -> Lib:
    from gem.envs.game_env.sokoban import SokobanEnv

    def step(env, a):
        _, _, term, trunc, _ = env.step(a)
        return term or trunc

    return Lib(
        "gem",
        lambda dim, boxes: SokobanEnv(dim_room=dim, num_boxes=boxes, max_turns=MAX_TURNS),
        lambda env, s: env.reset(seed=s),
        lambda env: _grid_legal(env.room_state, env.player_position),
        lambda m: f"\\boxed{{{m}}}", step,
    )


def _textarena() -> Lib:
    from textarena.envs.Sokoban.env import SokobanEnv

    def step(env, a):
        done, _ = env.step(a)
        env.get_observation()  # what an agent loop reads back each turn
        return done

    return Lib(
        "textarena",
        lambda dim, boxes: SokobanEnv(dim_room=dim, num_boxes=boxes, max_turns=MAX_TURNS),
        lambda env, s: env.reset(num_players=1, seed=s),
        lambda env: _grid_legal(env.room_state, env.player_position),
        lambda m: f"[{m}]", step,
    )


LIBS = {"densegym": _densegym, "gem": _gem, "textarena": _textarena}
NOCACHE = "densegym-nocache"  # measured whenever densegym is (not a peer: see _densegym_nocache)
DIST = {"densegym": "densegym", "gem": "gem-llm", "textarena": "textarena"}  # name on PyPI
PINS = {"gem": "gem-llm==0.1.0", "textarena": "textarena==0.7.4"}  # adapters use their internals: keep pinned


def load_lib(name: str) -> tuple[Lib | None, str]:
    """The adapter, or ``None`` and why not."""
    try:
        return LIBS[name](), "ok"
    except ImportError:
        return None, f"not installed (pip install {PINS.get(name, '-e .')})"
    except Exception as exc:  # a peer whose import breaks must not stop the run
        return None, f"import failed: {type(exc).__name__}: {exc}"[:120]


def _version(name: str) -> str | None:
    if name == "densegym":
        import densegym

        return densegym.__version__
    try:
        return metadata.version(DIST[name])
    except metadata.PackageNotFoundError:
        return None


# ---- steps per second ------------------------------------------------------------------------


def _episodes(lib: Lib, dim, boxes, n: int, seed: int) -> list[tuple[Any, list[str]]]:
    """``n`` (start env, recorded legal actions) pairs, levels from seeds ``seed..seed+n-1``."""
    rng = random.Random(seed)
    env = lib.make(dim, boxes)
    out = []
    for i in range(n):
        lib.reset(env, seed + i)
        start = copy.deepcopy(env)
        play, actions = copy.deepcopy(start), []
        for _ in range(MAX_TURNS):
            a = lib.action(rng.choice(lib.legal(play)))
            actions.append(a)
            if lib.step(play, a):
                break
        out.append((start, actions))
    return out


CLOCKS = {
    # CPU time of the benchmark's thread: what the env's own work costs, whatever else the machine runs
    "cpu": time.thread_time,
    # elapsed time: the same on an idle machine; on a shared one it counts other jobs' time slices too
    "wall": time.perf_counter,
}


def _replay(lib: Lib, episodes, clock: Callable[[], float] = time.thread_time) -> tuple[int, float]:
    steps, elapsed = 0, 0.0
    step = lib.step
    for start, actions in episodes:
        env = copy.deepcopy(start)
        t0 = clock()
        for a in actions:
            step(env, a)
        elapsed += clock() - t0
        steps += len(actions)
    return steps, elapsed


def bench_steps(
    libs: dict[str, Lib], episodes: int, repeats: int, seed: int = 0, clock: str = "cpu"
) -> list[dict[str, Any]]:
    timer = CLOCKS[clock]
    rows = []
    for dim, boxes in STEP_CONFIGS:
        recorded = {name: _episodes(lib, dim, boxes, episodes, seed) for name, lib in libs.items()}
        gc.collect()
        gc.freeze()  # the peers' large imports must not slow down every full collection in the timed loops
        best: dict[str, float] = {name: 0.0 for name in libs}
        counts: dict[str, int] = {}
        passes = {name: 1 for name in libs}
        for rep in range(repeats):
            per_pass: dict[str, float] = {}
            for name, lib in libs.items():
                steps, elapsed = 0, 0.0
                for _ in range(passes[name]):
                    s, e = _replay(lib, recorded[name], timer)
                    steps, elapsed = steps + s, elapsed + e
                counts[name] = steps
                best[name] = max(best[name], steps / elapsed)
                per_pass[name] = elapsed / passes[name]
            if rep == 0:
                # Equal-length repeats: a faster library replays its episodes more times per repeat, so
                # that every library's timed window is about as long as the slowest one's. On a loaded
                # machine a short window is likelier to fall between other jobs' bursts, and best-of-N
                # would otherwise favour whichever library is fastest.
                longest = max(per_pass.values())
                passes = {name: max(1, round(longest / t)) for name, t in per_pass.items()}
        gc.unfreeze()
        rows.append(
            {
                "room": f"{dim[0]}x{dim[1]}", "boxes": boxes,
                "steps_per_s": {name: round(v, 1) for name, v in best.items()},
                "steps_per_repeat": counts,
            }
        )
    return rows


# ---- oracle precompute -----------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_oracle(levels: int, seed: int = 0) -> list[dict[str, Any]]:
    from densegym.envs.sokoban import SokobanOracle, generate_level

    rows = []
    for dim, boxes in ORACLE_CONFIGS:
        n = max(5, levels // 4) if dim[0] >= 10 else levels  # the big rooms take ~100x longer per level
        ms, states, exact = [], [], 0
        for i in range(n):
            level = generate_level(seed + i, dim, boxes)
            t0 = time.perf_counter()
            oracle = SokobanOracle(level)
            ms.append((time.perf_counter() - t0) * 1e3)
            states.append(oracle.n_states)
            exact += bool(oracle.exact)
        rows.append(
            {
                "room": f"{dim[0]}x{dim[1]}", "boxes": boxes, "levels": n,
                "p50_ms": round(statistics.median(ms), 3), "p95_ms": round(_pct(ms, 0.95), 3),
                "max_ms": round(max(ms), 3), "states_p50": int(statistics.median(states)),
                "states_max": max(states), "exact": exact,
            }
        )
    return rows


# ---- report ----------------------------------------------------------------------------------


def run(quick: bool = False, episodes: int | None = None, repeats: int | None = None,
        oracle_levels: int | None = None, libs: list[str] | None = None, clock: str = "cpu") -> dict[str, Any]:
    """Run both benchmarks and return the figures (what ``--json`` writes)."""
    episodes = episodes or (3 if quick else 20)
    repeats = repeats or (2 if quick else 15)
    oracle_levels = oracle_levels or (12 if quick else 200)
    status, loaded = {}, {}
    for name in libs or list(LIBS):
        lib, status[name] = load_lib(name)
        if lib is not None:
            loaded[name] = lib
    if "densegym" not in loaded:
        raise RuntimeError(f"densegym: {status['densegym']}")
    loaded[NOCACHE] = _densegym_nocache()
    t0 = time.perf_counter()
    steps = bench_steps(loaded, episodes, repeats, clock=clock)
    for row in steps:
        sps = row["steps_per_s"]
        peers = {p: v for p, v in sps.items() if p not in ("densegym", NOCACHE)}
        row["ratio"] = {p: round(sps["densegym"] / v, 3) for p, v in peers.items()}
        row["vs_fastest_peer"] = round(sps["densegym"] / max(peers.values()), 3) if peers else None
        row["nocache_vs_fastest_peer"] = round(sps[NOCACHE] / max(peers.values()), 3) if peers else None
    gc.collect()
    gc.freeze()  # as in bench_steps: time the oracle as if the peers were not imported
    oracle = bench_oracle(oracle_levels)
    gc.unfreeze()
    (tdim, tboxes, tms) = TARGET_ORACLE
    target_row = next(r for r in oracle if r["room"] == f"{tdim[0]}x{tdim[1]}" and r["boxes"] == tboxes)
    ratios = [r["vs_fastest_peer"] for r in steps if r["vs_fastest_peer"] is not None]
    nocache = [r["nocache_vs_fastest_peer"] for r in steps if r["nocache_vs_fastest_peer"] is not None]
    return {
        "meta": {
            "python": platform.python_version(), "machine": platform.machine(), "cpus": _cpus(),
            "versions": {name: _version(name) for name in status}, "status": status,
            "max_turns": MAX_TURNS, "episodes": episodes, "repeats": repeats, "quick": quick, "clock": clock,
            "seconds": round(time.perf_counter() - t0, 1),
        },
        "steps": steps,
        "oracle": oracle,
        "targets": {
            "steps_ratio_min": TARGET_RATIO,
            "steps_ratio_met": (min(ratios) >= TARGET_RATIO) if ratios else None,
            "steps_ratio_met_nocache": (min(nocache) >= TARGET_RATIO) if nocache else None,
            "oracle_p95_ms_max": tms,
            "oracle_p95_met": target_row["p95_ms"] < tms,
        },
    }


def _cpus() -> int | None:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned first column, right-aligned numbers."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def format_report(res: dict[str, Any]) -> str:
    meta, status = res["meta"], res["meta"]["status"]
    names = list(status)
    peers = [n for n in names if n != "densegym"]
    versions = ", ".join(f"{n} {meta['versions'][n] or '?'}" for n in names if status[n] == "ok")
    out = [
        f"Sokoban benchmark  (python {meta['python']}, {meta['cpus']} cpus; {versions})",
        "",
        f"Env steps/s: unwrapped envs, random legal moves, all reward components on, max_turns={meta['max_turns']};",
        f"best of {meta['repeats']} repeats x {meta['episodes']} episodes per room; "
        + ("the thread's CPU time" if meta.get("clock", "cpu") == "cpu" else "wall-clock time"),
    ]
    columns = ["densegym", NOCACHE] + peers
    header = ["room", "boxes"] + columns + [f"densegym/{p}" for p in peers if status[p] == "ok"]
    header.append(f"target >= {TARGET_RATIO:g}x faster peer")
    header.append("no cache/faster peer")
    rows = []
    for r in res["steps"]:
        sps = r["steps_per_s"]
        row = [r["room"], str(r["boxes"])]
        row += [f"{sps[n]:,.0f}" if n in sps else "-" for n in columns]
        row += [f"{r['ratio'][p]:.2f}x" for p in peers if status[p] == "ok"]
        v, nc = r["vs_fastest_peer"], r["nocache_vs_fastest_peer"]
        row.append("n/a (no peer)" if v is None else f"{'met' if v >= TARGET_RATIO else 'MISSED'} ({v:.2f}x)")
        row.append("n/a" if nc is None else f"{nc:.2f}x")
        rows.append(row)
    out.append(_table(header, rows))
    out.append(
        f"{NOCACHE}: the env's per-state cache (oracle view, anchor, rendered grid) emptied before every step,"
        " so that every step renders the grid afresh, as the peers do"
    )
    for p in peers:
        if status[p] != "ok":
            out.append(f"{p}: {status[p]}")
    out += ["", "Oracle precompute per level: SokobanOracle(level) on generated levels"]
    header = ["room", "boxes", "levels", "p50 ms", "p95 ms", "max ms", "states p50", "states max", "exact"]
    rows = [
        [o["room"], str(o["boxes"]), str(o["levels"]), f"{o['p50_ms']:.2f}", f"{o['p95_ms']:.2f}",
         f"{o['max_ms']:.2f}", f"{o['states_p50']:,}", f"{o['states_max']:,}", f"{o['exact']}/{o['levels']}"]
        for o in res["oracle"]
    ]
    out.append(_table(header, rows))
    t = res["targets"]
    (dim, boxes, _) = TARGET_ORACLE
    out.append(
        f"target p95 < {t['oracle_p95_ms_max']:g} ms for {dim[0]}x{dim[1]} with {boxes} boxes: "
        + ("met" if t["oracle_p95_met"] else "MISSED")
    )
    out.append(f"\n({meta['seconds']} s)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_sokoban", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few seconds: 3 episodes, 2 repeats, 12 oracle levels")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    ap.add_argument("--episodes", type=int, help="episodes (levels) per room and library (default 20)")
    ap.add_argument("--repeats", type=int, help="timed repeats; the best counts (default 15)")
    ap.add_argument("--oracle-levels", type=int, help="generated levels per room for the oracle (default 200)")
    ap.add_argument("--libs", default=",".join(LIBS), help="comma-separated subset of: " + ", ".join(LIBS))
    ap.add_argument("--clock", choices=list(CLOCKS), default="cpu",
                    help="time the steps by the thread's CPU time (default; steady on a shared machine) or wall clock")
    args = ap.parse_args(argv)
    libs = [n.strip() for n in args.libs.split(",") if n.strip()]
    unknown = set(libs) - set(LIBS)
    if unknown or "densegym" not in libs:
        ap.error(f"--libs must include densegym and name only {', '.join(LIBS)}")
    res = run(args.quick, args.episodes, args.repeats, args.oracle_levels, libs, args.clock)
    print(format_report(res))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
