"""Web env latency against BrowserGym, on the same app and the same task, in one run.

    python -m benchmarks.bench_web [--quick] [--peer-python PYTHON] [--json FILE]

Both sides drive densegym's bundled shop (``densegym/WebShop-v0``'s app server, one session per episode) in
Chromium through Playwright, with the same script of actions per task: type the search, choose the category,
search, open the product the instruction was drawn from (or another that matches on the first page), choose
its options, add it to the cart, check out, place the order (about ten steps). Before each step, the element's
bid is read from the page (not timed); the timed call is the env's ``step`` with BrowserGym's action text,
from the action to the next observation.

* **densegym**: ``WebShopEnv`` (one browser per process, a fresh context per episode; the observation is the
  accessibility tree with bids).
* **BrowserGym** (``browsergym-core``, its ``BrowserEnv`` with a task that opens the same app): its defaults
  (the task's ``slow_mo`` of 1000 ms, a fresh browser per reset, an observation with the DOM snapshot, the
  accessibility tree and a screenshot) and the same with ``slow_mo=0``. BrowserGym pins its own Playwright
  (1.44), so it runs in an interpreter of its own: ``--peer-python`` (default: ``$BENCH_WEB_PEER_PYTHON``),
  e.g. a venv made with ``pip install -r benchmarks/requirements-web.txt``; without one the peer is reported
  as missing.

Figures: reset and step latency (median and mean, ms), memory per env (the proportional resident memory (PSS)
of the process tree: the Python process, the Playwright driver, the browser and the app server, with one env
and with four, divided per env), and episodes per second with 8 envs on 2 workers (densegym: ``EnvPool`` with the scripted
actions; BrowserGym with ``slow_mo`` 0: 2 processes with 4 envs each, stepped in turn, as it has no pool).

Measured on 2 shared cores in one run (x86_64, Chromium 156; ``--tasks 4``, 36 steps a side; densegym on
Playwright 1.65, BrowserGym 0.14.3 on its Playwright 1.44):

| | reset (median) | step (median) | memory per added env (PSS) | 8 envs on 2 workers |
|---|---|---|---|---|
| densegym WebShop-v0 | 413 ms | 183 ms | 60 MB | 0.554 episodes/s |
| BrowserGym, slow_mo 0 | 2,296 ms (5.6x) | 881 ms (4.8x) | 320 MB (5.3x) | 0.165 episodes/s (3.4x) |
| BrowserGym, defaults (slow_mo 1000) | 2,745 ms (6.7x) | 1,822 ms (10.0x) | | |
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from densegym.envs.web.catalog import generate, make_goal, matches  # noqa: E402

CATALOG = (0, 1200)


# ---- the script of a task (the same on both sides) -------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def script(task_seed: int) -> dict:
    """The steps ``(kind, css selector, argument)`` that buy the goal's product, found with the app's own index."""
    catalog = generate(*CATALOG)
    goal = make_goal(catalog, task_seed)
    first = _index().search(goal.query, goal.category, "", None)[:10]
    pid = next((p for p in first if matches(goal, catalog.get(p))), None)
    if pid is None:
        return {}
    product = catalog.get(pid)
    steps = [("fill", "#search-q", goal.query), ("select_option", "#filter-category", goal.category),
             ("click", "#search-go", None), ("click", f'a[data-pid="{pid}"]', None)]
    steps += [("click", f"#opt-{axis}-{product.option_values(axis).index(value)}", None) for axis, value in goal.options]
    steps += [("click", "#add-to-cart", None), ("click", "#checkout", None), ("click", "#place-order", None)]
    return {"seed": task_seed, "goal": goal.instruction, "task_id": goal.task_id, "steps": steps}


@functools.lru_cache(maxsize=1)
def _index():
    from densegym.envs.web.app import ShopIndex

    return ShopIndex(generate(*CATALOG))


def action_text(kind: str, bid: str, arg: str | None) -> str:
    return f'{kind}("{bid}")' if arg is None else f'{kind}("{bid}", {json.dumps(arg)})'


def tree_rss_mb(roots: list[int]) -> float:
    """Proportional set size (MB: resident memory, shared pages divided among the processes that share them) of
    the processes ``roots`` and all their descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/smaps_rollup") as fh:  # proportional: shared pages split among sharers
                kb = next((int(line.split()[1]) for line in fh if line.startswith("Pss:")), 0)
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = kb
    seen, stack = set(), list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        stack.extend(children.get(pid, ()))
    return sum(rss.get(p, 0) for p in seen) / 1024


def summary(values: list[float]) -> dict:
    return {"median_ms": round(statistics.median(values), 1), "mean_ms": round(statistics.fmean(values), 1),
            "n": len(values)} if values else {}


# ---- densegym ---------------------------------------------------------------------------------------------------


def densegym_episode(env, plan: dict, resets: list, steps: list) -> float:
    t = time.perf_counter()
    env.reset(options={"task": plan["task_id"]})
    resets.append((time.perf_counter() - t) * 1000)
    info = {}
    for kind, selector, arg in plan["steps"]:
        bid = env.tab.bid_of(selector)
        act = f"<action>{action_text(kind, bid, arg)}</action>"
        t = time.perf_counter()
        _, _, terminated, _, info = env.step(act)
        steps.append((time.perf_counter() - t) * 1000)
        if terminated:
            break
    return float(info.get("outcome", 0.0))


def densegym_side(plans: list[dict]) -> dict:
    from densegym.envs.web import WebShopEnv, close_shared
    from densegym.envs.web.env import app_server, browser_host

    env = WebShopEnv(*CATALOG, max_turns=100)
    resets, steps, outcomes = [], [], []
    densegym_episode(env, plans[0], [], [])  # warm up: the browser and the server start once per worker
    for plan in plans:
        outcomes.append(densegym_episode(env, plan, resets, steps))
    roots = [os.getpid()] + browser_host().process_groups + [app_server(*CATALOG).proc.pid]
    one = tree_rss_mb(roots)
    more = [WebShopEnv(*CATALOG) for _ in range(3)]
    for i, extra in enumerate(more):
        extra.reset(options={"task": plans[i % len(plans)]["task_id"]})
    four = tree_rss_mb(roots)
    for extra in more:
        extra.close()
    env.close()
    close_shared()
    return {"reset": summary(resets), "step": summary(steps), "solved": sum(o == 1.0 for o in outcomes),
            "episodes": len(outcomes), "memory_mb_one_env": round(one, 1),
            "memory_mb_per_env_of_four": round(four / 4, 1), "memory_mb_each_more_env": round((four - one) / 3, 1)}


def densegym_pool(plans: list[dict], episodes: int) -> dict:
    from densegym.envpool import EnvPool

    with EnvPool(_ScriptedShop, num_envs=8, num_workers=2, step_timeout=120.0) as pool:
        t = time.perf_counter()
        done = _pool_run(pool, plans, episodes)
        wall = time.perf_counter() - t
    return {"episodes": done, "seconds": round(wall, 2), "episodes_per_s": round(done / wall, 3)}


def _pool_run(pool, plans, episodes) -> int:
    from densegym.agents import OracleAgent
    from densegym.rollout import collect

    tasks = [plans[i % len(plans)]["task_id"] for i in range(episodes)]
    groups = collect(OracleAgent(), pool, tasks=tasks, group_size=1)
    return sum(1 for g in groups for t in g if t.success)


try:
    from densegym.envs.web import WebShopEnv as _Base
except ImportError:  # pragma: no cover - the peer's interpreter may lack the web extra
    _Base = object


class _ScriptedShop(_Base):  # type: ignore[misc, valid-type]
    """WebShopEnv whose oracle plays the benchmark's script (the same steps as the peer)."""

    def oracle_action(self) -> str:
        steps = script(int(self.goal.task_id.rsplit(":", 1)[1]))["steps"]
        kind, selector, arg = steps[min(self.turn, len(steps) - 1)]
        return f"<action>{action_text(kind, self.tab.bid_of(selector), arg)}</action>"


# ---- BrowserGym (runs in its own interpreter) ------------------------------------------------------------------


def _browsergym_factory(slow_mo: int | None = 0):
    """``(make(goal) -> BrowserEnv, the app server)``: BrowserGym's env on densegym's shop."""
    from browsergym.core.env import BrowserEnv
    from browsergym.core.task import AbstractBrowserTask

    from playwright.sync_api._generated import BrowserType

    from densegym.envs.web.server import AppServer

    launch, exe = BrowserType.launch, os.environ.get("DENSEGYM_CHROMIUM", "/usr/bin/chromium")

    def launch_with_exe(self, *a, **kw):  # its page browser and its chat window's: the system Chromium
        kw.setdefault("executable_path", exe)
        return launch(self, *a, **kw)

    BrowserType.launch = launch_with_exe
    server = AppServer(*CATALOG)

    class ShopTask(AbstractBrowserTask):
        def __init__(self, seed: int, goal: str = "") -> None:
            super().__init__(seed)
            self.goal = goal
            self.timeout = 5000

        @classmethod
        def get_task_id(cls):
            return "densegym-shop"

        def setup(self, page):
            sid = server.new_session()
            page.context.add_cookies([{"name": "dg_sid", "value": sid, "url": server.origin}])
            page.goto(server.origin + "/")
            return self.goal, {}

        def validate(self, page, chat_messages):
            return 0.0, False, "", {}

        def teardown(self):
            pass

    def make(goal: str):
        return BrowserEnv(task_entrypoint=ShopTask, task_kwargs={"goal": goal}, headless=True, slow_mo=slow_mo)

    return make, server


def browsergym_side(plans: list[dict], slow_mo: int | None, memory: bool) -> dict:
    make, server = _browsergym_factory(slow_mo)
    resets, steps, solved = [], [], 0
    env = make(plans[0]["goal"])
    for plan in plans:
        env.task_kwargs = {"goal": plan["goal"]}
        t = time.perf_counter()
        env.reset(seed=plan["seed"])
        resets.append((time.perf_counter() - t) * 1000)
        page = env.unwrapped.page
        for kind, selector, arg in plan["steps"]:
            bid = page.locator(selector).first.get_attribute("bid")
            t = time.perf_counter()
            env.step(action_text(kind, bid, arg))
            steps.append((time.perf_counter() - t) * 1000)
            page = env.unwrapped.page
        solved += "/order/" in page.url
    out = {"reset": summary(resets), "step": summary(steps), "solved": solved, "episodes": len(plans)}
    if memory:
        one = tree_rss_mb([os.getpid(), server.proc.pid])
        more = [make(plans[0]["goal"]) for _ in range(3)]
        for extra in more:
            extra.reset(seed=plans[0]["seed"])
        four = tree_rss_mb([os.getpid(), server.proc.pid])
        for extra in more:
            extra.close()
        out.update(memory_mb_one_env=round(one, 1), memory_mb_per_env_of_four=round(four / 4, 1),
                   memory_mb_each_more_env=round((four - one) / 3, 1))
    env.close()
    server.close()
    return out


def _browsergym_worker(plans: list[dict], episodes: int, queue) -> None:
    """One worker of the peer's throughput run: 4 envs stepped in turn, ``episodes`` episodes in all."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        queue.put(_browsergym_round_robin(plans, episodes))


def _browsergym_round_robin(plans: list[dict], episodes: int) -> int:
    from browsergym.core.env import BrowserEnv

    make, _server = _browsergym_factory()
    envs: list[BrowserEnv] = [make(plans[0]["goal"]) for _ in range(4)]
    todo = [plans[i % len(plans)] for i in range(episodes)]
    active: list[list] = []  # [env, plan, step index]
    solved = 0
    while todo or active:
        while todo and len(active) < len(envs):
            env = next(e for e in envs if all(a[0] is not e for a in active))
            plan = todo.pop()
            env.task_kwargs = {"goal": plan["goal"]}
            env.reset(seed=plan["seed"])
            active.append([env, plan, 0])
        for slot in list(active):
            env, plan, i = slot
            kind, selector, arg = plan["steps"][i]
            env.step(action_text(kind, env.page.locator(selector).first.get_attribute("bid"), arg))
            slot[2] += 1
            if slot[2] == len(plan["steps"]):
                solved += "/order/" in env.page.url
                active.remove(slot)
    for env in envs:
        env.close()
    _server.close()
    return solved


def browsergym_pool(plans: list[dict], episodes: int) -> dict:
    """8 BrowserGym envs (slow_mo 0) on 2 processes, 4 each, stepped in turn."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    t = time.perf_counter()
    workers = [ctx.Process(target=_browsergym_worker, args=(plans, episodes // 2, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    solved = sum(queue.get(timeout=3600) for _ in workers)
    wall = time.perf_counter() - t
    for w in workers:
        w.join(60)
    return {"episodes": solved, "seconds": round(wall, 2), "episodes_per_s": round(solved / wall, 3)}


def _peer(python: str, plans: list[dict], slow_mo: int | None, memory: bool, side: str = "browsergym") -> dict:
    cmd = [python, "-m", "benchmarks.bench_web", "--side", side, "--plans", json.dumps(plans),
           "--slow-mo", "default" if slow_mo is None else str(slow_mo)] + (["--memory"] if memory else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--peer-python", default=os.environ.get("BENCH_WEB_PEER_PYTHON"))
    parser.add_argument("--json")
    parser.add_argument("--side", choices=["browsergym", "browsergym-pool"], help=argparse.SUPPRESS)
    parser.add_argument("--plans", help=argparse.SUPPRESS)
    parser.add_argument("--slow-mo", help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-pool", action="store_true", help="skip the 8-env throughput figure")
    args = parser.parse_args()
    if args.side == "browsergym-pool":
        print(json.dumps(browsergym_pool(json.loads(args.plans), 16)))
        return
    if args.side == "browsergym":
        slow_mo = None if args.slow_mo == "default" else int(args.slow_mo)
        print(json.dumps(browsergym_side(json.loads(args.plans), slow_mo, args.memory)))
        return

    n = 2 if args.quick else args.tasks
    plans = [p for p in (script(s) for s in range(n * 3)) if p][:n]
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "tasks": len(plans),
                     "steps_per_task": round(statistics.fmean(len(p["steps"]) for p in plans), 1)}
    results["densegym"] = densegym_side(plans)
    if args.peer_python:
        results["browsergym_slow_mo_0"] = _peer(args.peer_python, plans, 0, True)
        results["browsergym_default"] = _peer(args.peer_python, plans[:1], None, False)
    else:
        results["browsergym"] = {"error": "not run: give --peer-python (a venv with browsergym-core)"}
    if not args.no_pool and not args.quick:
        results["densegym_pool_8_envs_2_workers"] = densegym_pool(plans, 16)
        if args.peer_python:
            results["browsergym_slow_mo_0_8_envs_2_workers"] = _peer(args.peer_python, plans, 0, False, "browsergym-pool")
    d = results["densegym"]
    for name in ("browsergym_slow_mo_0", "browsergym_default"):
        peer = results.get(name, {})
        if "step" in peer:
            results[f"ratio_{name}"] = {
                "step": round(peer["step"]["median_ms"] / d["step"]["median_ms"], 1),
                "reset": round(peer["reset"]["median_ms"] / d["reset"]["median_ms"], 1)}
            if "memory_mb_each_more_env" in peer:
                results[f"ratio_{name}"]["memory_each_more_env"] = round(
                    peer["memory_mb_each_more_env"] / max(d["memory_mb_each_more_env"], 1e-9), 1)
    pool, peer_pool = results.get("densegym_pool_8_envs_2_workers"), results.get("browsergym_slow_mo_0_8_envs_2_workers")
    if pool and peer_pool and peer_pool.get("episodes_per_s"):
        results["ratio_pool_episodes_per_s"] = round(pool["episodes_per_s"] / peer_pool["episodes_per_s"], 1)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
