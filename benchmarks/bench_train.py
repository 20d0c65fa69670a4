"""Training throughput on the CPU with the tiny model, and what each estimator costs over GRPO, in one run.

Every estimator trains its own copy of the same tiny policy (``model: tiny``, the same seed, the same tasks and
sampling seeds) with ``Trainer.train_step``, no SFT:

* on Sokoban (``densegym/Sokoban-v0`` with the env settings and reward weights of ``configs/sokoban_turn.yaml``):
  ``grpo``, ``rloo``, ``turn``, ``gigpo``, ``pure`` and ``oprl`` (its implicit PRM: a second copy of the policy
  scores every turn, then takes a DPO step on the batch's success x failure pairs);
* ``igpo`` needs a gold answer in ``info["privileged"]`` for its belief probe (the teacher-forced log-prob of
  the answer after every turn), and Sokoban has none (its privileged dict holds the oracle's distance and
  state), so igpo runs on ``tests.trainers.envs:LetterEnv`` (gold answer ``"u"``, 2 turns) beside a GRPO
  baseline on the same env.

After one warm-up step each, the trainers take turns step by step (``--steps`` rounds), so that load from other
jobs falls on all of them alike; torch runs on ``--threads`` threads (default 1). The overhead over GRPO is the
median over rounds of the ratio of a step's time to GRPO's step in the same round (same env, same step number:
the same tasks and sampling seeds), in CPU time of the training process (``time.process_time``: generation,
rewards and update all run there; the env workers' share is small) and in wall time. On a shared machine the
CPU-time ratio is the one to read: other jobs' time slices do not count against it.

Reported per estimator besides: the medians of the rollout and update phases (wall; the update phase includes
the old log-probs, the reward preparation and the policy update), ``time/rewards_s`` (transforms, IGPO's probe,
OPRL's PRM pass and DPO step), rollout action tokens/s and update tokens/s (prompt + action tokens of every
per-turn row, over the update phase), and the action tokens per step (the work: equal at the first step, it
drifts apart as the policies do).

``python -m benchmarks.bench_train [--quick] [--steps N] [--json FILE]`` from the repository root (LetterEnv is
imported from ``tests/``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from densegym.trainers.config import TrainerConfig
from densegym.trainers.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
SOKOBAN = ("grpo", "rloo", "turn", "gigpo", "pure", "oprl")
LETTER = ("grpo", "igpo")
ESTIMATORS = sorted(set(SOKOBAN) | set(LETTER))


def sokoban_settings() -> dict:
    """The env, reward weights, turns and sampling of configs/sokoban_turn.yaml (its SFT and eval are off; its
    model is the default tiny one)."""
    base = TrainerConfig.from_yaml(REPO / "configs" / "sokoban_turn.yaml")
    return {"env": base.env, "env_kwargs": base.env_kwargs, "reward_weights": base.reward_weights,
            "max_turns": base.max_turns, "max_new_tokens": base.max_new_tokens, "context": base.context,
            "lr": 2e-3}  # the rate its figures were measured at (the config's until it moved to the 128-wide model)


def letter_settings() -> dict:
    return {"env": "tests.trainers.envs:LetterEnv", "max_turns": 2, "max_new_tokens": 12, "lr": 2e-3,
            "answer_key": "answer"}


def build(env: str, estimator: str, out: Path, *, tasks: int, group: int, settings: dict) -> Trainer:
    config = TrainerConfig(
        **settings, estimator=estimator, model="tiny", tasks_per_step=tasks, group_size=group, task_pool=None,
        steps=10**6, seed=0, output_dir=str(out / f"{env}-{estimator}"), log_rollouts=False, progress=False,
        device="cpu",
    )
    return Trainer(config)


def run(quick: bool = False, steps: int | None = None, threads: int = 1) -> dict:
    steps = steps or (1 if quick else 6)
    torch.set_num_threads(threads)
    tasks, group = (1, 2) if quick else (4, 4)
    # --quick: a smoke run of every code path (a 1-layer model, 2 turns), not figures to quote
    small = {"model_config": {"num_hidden_layers": 1}, "max_turns": 2, "max_new_tokens": 6} if quick else {}
    plan = [("sokoban", e, {**sokoban_settings(), **small}) for e in SOKOBAN]
    plan += [("letter", e, {**letter_settings(), **small}) for e in LETTER]
    samples: dict[tuple[str, str], list[dict]] = {(env, est): [] for env, est, _ in plan}
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {}
        try:
            for env, estimator, settings in plan:
                trainers[env, estimator] = build(env, estimator, Path(tmp), tasks=tasks, group=group,
                                                 settings=settings)
            for trainer in trainers.values():  # warm-up: first-call costs (allocations, lazy imports) land here
                trainer.train_step()
            for _ in range(steps):
                for key, trainer in trainers.items():
                    t0, c0 = time.perf_counter(), time.process_time()
                    metrics = trainer.train_step()
                    metrics["wall_s"] = time.perf_counter() - t0
                    metrics["cpu_s"] = time.process_time() - c0
                    samples[key].append(metrics)
        finally:
            for trainer in trainers.values():
                trainer.close()
    rows = []
    for (env, estimator), ms in samples.items():
        def med(key: str) -> float:
            return statistics.median(m.get(key, 0.0) for m in ms)

        rows.append({
            "env": env, "estimator": estimator, "wall_s": med("wall_s"), "cpu_s": med("cpu_s"),
            "rollout_s": med("time/rollout_s"),
            "update_s": med("time/update_s"), "rewards_s": med("time/rewards_s"),
            "rollout_tok_s": med("throughput/rollout_action_tokens_per_s"),
            "update_tok_s": med("throughput/update_tokens_per_s"),
            "action_tokens": med("action_tokens") * med("trajectories"),
        })
    for row in rows:  # paired by round: the same tasks and seeds, and the same moment's machine load
        mine, base = samples[row["env"], row["estimator"]], samples[row["env"], "grpo"]
        for clock in ("cpu", "wall"):
            row[f"vs_grpo_{clock}"] = statistics.median(m[f"{clock}_s"] / b[f"{clock}_s"] for m, b in zip(mine, base))
    return {"steps": steps, "tasks_per_step": tasks, "group_size": group, "torch_threads": torch.get_num_threads(),
            "rows": rows}


def format_table(report: dict) -> str:
    lines = [
        f"Training step, tiny model on the CPU ({report['torch_threads']} torch threads), "
        f"{report['tasks_per_step']} tasks x {report['group_size']} samples per step, "
        f"medians of {report['steps']} steps after a warm-up step; per step: cpu s / wall s, ratios to GRPO paired by round",
        f"{'env':<8} {'estimator':<9} {'cpu s':>6} {'vs grpo':>8} {'wall s':>7} {'vs grpo':>8} {'rollout s':>10} "
        f"{'update s':>9} {'rewards s':>10} {'rollout tok/s':>14} {'update tok/s':>13} {'action tok/step':>16}",
    ]
    for r in report["rows"]:
        lines.append(
            f"{r['env']:<8} {r['estimator']:<9} {r['cpu_s']:>6.2f} {r['vs_grpo_cpu']:>7.2f}x {r['wall_s']:>7.2f} "
            f"{r['vs_grpo_wall']:>7.2f}x {r['rollout_s']:>10.2f} {r['update_s']:>9.2f} {r['rewards_s']:>10.3f} "
            f"{r['rollout_tok_s']:>14,.0f} {r['update_tok_s']:>13,.0f} {r['action_tokens']:>16,.0f}"
        )
    if "total_s" in report:
        lines.append(f"(whole run: {report['total_s']:.0f} s)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 task x 2 samples, 2 turns, a 1-layer model, 1 timed step")
    parser.add_argument("--steps", type=int, help="timed steps per estimator (default 6; 1 with --quick)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    start = time.perf_counter()
    report = run(quick=args.quick, steps=args.steps, threads=args.threads)
    report["total_s"] = time.perf_counter() - start
    print(format_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
