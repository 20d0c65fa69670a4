"""The ``densegym`` command line: list | play | rollout | demo."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym

import densegym  # noqa: F401 - registers the envs
from densegym.envs.registration import ENVS


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def _make(env_id: str, kwargs: str | None) -> gym.Env:
    if env_id not in gym.registry:
        known = ", ".join(e.id for e in ENVS)
        raise SystemExit(f"densegym: unknown env id {env_id!r}; known ids: {known}")
    extra = json.loads(kwargs) if kwargs else {}
    return gym.make(env_id, **extra)


def cmd_list(args: argparse.Namespace) -> int:
    rows = []
    for info in ENVS:
        env = gym.make(info.id)
        rewards = ", ".join(f"{n}={w:g}" for n, w in env.unwrapped.rewards.weights.items())
        rows.append((info.id, info.family, info.summary, rewards))
        env.close()
    print(_table(("id", "family", "levels / tasks", "reward components (default weights)"), rows))
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    """A person plays in the terminal; every reward component is shown each turn."""
    env = _make(args.env_id, args.kwargs)
    obs, info = env.reset(seed=args.seed)
    print(f"[task {info.get('task_id')}]  type a move (e.g. 'up', or '<action>up</action>'); 'q' quits\n")
    print(obs)
    total = 0.0
    while True:
        try:
            line = input("\n> ")
        except EOFError:
            print()
            break
        if line.strip().lower() in ("q", "quit", "exit"):
            break
        action = line if "<action>" in line.lower() else f"<action>{line}</action>"
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        print(obs)
        parts = "  ".join(f"{k}={v:+.3f}" for k, v in info["reward_components"].items())
        print(f"\nturn {info['turn']}: reward {reward:+.3f} (total {total:+.3f})  [{parts}]")
        if terminated or truncated:
            print(f"episode over: success={info['success']} outcome={info['outcome']:g}")
            break
    env.close()
    return 0


def rollout_summary(trajectories: list, label: str = "") -> dict[str, Any]:
    n = len(trajectories)
    components: dict[str, float] = {}
    for t in trajectories:
        for k, v in t.component_sums().items():
            components[k] = components.get(k, 0.0) + v / n
    return {
        "agent": label,
        "episodes": n,
        "success": sum(t.success for t in trajectories) / n,
        "turns": sum(len(t.turns) for t in trajectories) / n,
        "reward": sum(t.total_reward for t in trajectories) / n,
        "components": components,
    }


def _summary_table(summaries: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(k for s in summaries for k in s["components"]))
    headers = ["agent", "episodes", "success", "turns", "reward"] + names
    rows = [
        [s["agent"], s["episodes"], s["success"], s["turns"], s["reward"]] + [s["components"].get(k, 0.0) for k in names]
        for s in summaries
    ]
    return _table(headers, rows)


def run_rollouts(env_id: str, agent_name: str, episodes: int, seed: int, kwargs: str | None, out: str | None):
    from densegym.agents import make_scripted_agent
    from densegym.episode import run_episode
    from densegym.trajectory import TrajectoryWriter

    env = _make(env_id, kwargs)
    agent = make_scripted_agent(agent_name, seed=seed)
    writer = TrajectoryWriter(out) if out else None
    trajectories = []
    start = time.perf_counter()
    try:
        for i in range(episodes):
            traj = run_episode(env, agent, seed=seed + i, env_id=env_id)
            traj.meta["agent"] = agent_name
            trajectories.append(traj)
            if writer:
                writer.write(traj)
            if sys.stderr.isatty():
                ok = sum(t.success for t in trajectories) / len(trajectories)
                print(f"\r{agent_name}: {i + 1}/{episodes} episodes, success {ok:.0%}", end="", file=sys.stderr)
    finally:
        if writer:
            writer.close()
        env.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    summary = rollout_summary(trajectories, agent_name)
    summary["seconds"] = time.perf_counter() - start
    return trajectories, summary


def cmd_rollout(args: argparse.Namespace) -> int:
    _, summary = run_rollouts(args.env_id, args.agent, args.episodes, args.seed, args.kwargs, args.out)
    print(f"{args.env_id}: mean per episode (reward components are unweighted sums over turns)")
    print(_summary_table([summary]))
    if args.out:
        print(f"\nwrote {summary['episodes']} trajectories to {args.out}")
    if args.json:
        print(json.dumps(summary))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Oracle and random agents on Sokoban, side by side, with the per-component reward breakdown."""
    env_id = args.env_id
    print(f"densegym demo: {args.episodes} episodes each of oracle and random play on {env_id}\n")
    summaries = []
    for name in ("oracle", "random"):
        out = f"{args.out_dir}/{name}.jsonl" if args.out_dir else None
        trajs, summary = run_rollouts(env_id, name, args.episodes, args.seed, args.kwargs, out)
        summaries.append(summary)
        if name == "random" and trajs:
            example = next((t for t in trajs if not t.success), trajs[0])
            turns = example.turns[:4]
    print(_summary_table(summaries))
    print(
        "\nprogress sums to 1 for every solved level (potential-based); optimal = VPR verdict per turn "
        "(+1 optimal, 0 legal, -1 invalid); deadlock = -1 when a turn made the level unsolvable."
    )
    print("\nThe first turns of a random episode, reward by component:")
    for i, t in enumerate(turns):
        parts = "  ".join(f"{k}={v:+.2f}" for k, v in t.components.items())
        print(f"  turn {i + 1}: {t.action:<28} {parts}")
    if args.out_dir:
        print(f"\ntrajectories written to {args.out_dir}/oracle.jsonl and {args.out_dir}/random.jsonl")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="densegym", description=densegym.__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"densegym {densegym.__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="list env ids, families and reward components").set_defaults(func=cmd_list)

    play = sub.add_parser("play", help="play an env in the terminal and see every reward component")
    play.add_argument("env_id")
    play.add_argument("--seed", type=int, default=None)
    play.add_argument("--kwargs", help="env keyword arguments as JSON, e.g. '{\"dim_room\": [8, 8]}'")
    play.set_defaults(func=cmd_play)

    ro = sub.add_parser("rollout", help="run a scripted agent and write trajectories as JSONL")
    ro.add_argument("env_id")
    ro.add_argument("--agent", default="oracle", choices=("oracle", "random"))
    ro.add_argument("--episodes", type=_positive_int, default=10)
    ro.add_argument("--seed", type=int, default=0)
    ro.add_argument("--out", help="JSONL file to append the trajectories to")
    ro.add_argument("--kwargs", help="env keyword arguments as JSON")
    ro.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    ro.set_defaults(func=cmd_rollout)

    demo = sub.add_parser("demo", help="oracle vs random on Sokoban with the reward breakdown")
    demo.add_argument("--env-id", default="densegym/Sokoban-small-v0")
    demo.add_argument("--episodes", type=_positive_int, default=50)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--kwargs", help="env keyword arguments as JSON")
    demo.add_argument("--out-dir", default="runs/demo")
    demo.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
