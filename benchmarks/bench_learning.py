"""Learning-signal benchmark: what each dense reward and estimator buys over outcome-only GRPO, over seeds.

One warm start (SFT on oracle demonstrations, then its move accuracy against the oracle on held-out levels),
then every arm trains a copy of the same weights with the same settings, the same sample budget (steps x tasks
x group size) and the same training seeds; seed ``k`` of every arm draws the same levels in the same order and
starts its sampling from the same seed, so the arms pair up by seed. Arms:

* ``outcome``: GRPO on solved / not solved (the baseline);
* ``turn``: the ``turn`` estimator on the env's per-turn reward, ``progress + 0.1 format + outcome``;
* ``gigpo``: GiGPO, episode groups plus anchor-state step groups on the same per-turn reward;
* ``oprl``: the online implicit PRM (a second copy of the policy, DPO on success x failure pairs; settings of
  ``configs/sokoban_oprl.yaml``);
* ``pure``: PURE's min-form credit assignment on the per-turn reward, plus the verifiable outcome;
* ``gated``: GRPO on the outcome plus the G-RA gated return of ``progress`` (``configs/sokoban_gated.yaml``).
  On this env it is the baseline in disguise: ``progress`` is potential-based, so its gated sum is exactly 1 on
  every solved level and 0 on the others, the return is twice the outcome, and GRPO's group normalisation
  removes the factor. It stays as the G-RA reference point; its curves should match the baseline's.

``igpo`` is not an arm: its information gain needs a gold answer in ``info["privileged"]``, and Sokoban has
none (its privileged facts are the oracle's distances).

The env is ``densegym/Sokoban-v0`` (6x6, one box, optimal solutions of 2 to 6 moves, up to 8 turns, context
``current``), training on fresh generated levels every step (``task_pool`` unset) and evaluating on held-out
levels (seeds from 1,000,000). The learning rate and the loss aggregation are those chosen for the baseline in
the demo (``densegym.trainers.demo``); no arm gets a setting the others do not.

Reported per arm: success on the held-out levels against episodes consumed (mean and standard error over seeds;
``learning.png``), the episodes it needs for its mean curve to reach the baseline's final mean success (the
project's goal: at most half the baseline's own), its final success with a 95% t-interval, and the paired
difference to the baseline over seeds with a two-sided paired t-test.

``python -m benchmarks.bench_learning [--quick | --smoke] [--seeds N] [--steps N] [--arms a,b] [--json FILE]``
from the repository root. The full run took 56 minutes on 2 cores, ``--quick`` (fewer steps and evaluation
levels) 20 minutes; ``--smoke`` is the test's pipeline check (its numbers mean nothing); ``--gpu`` is the GPU
configuration (see ``PRESETS``); ``--table REPORT`` prints the table of a finished or stopped run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from densegym.trainers.demo import (
    PROBE_SEEDS,
    QUICK,
    demo_config,
    eval_curves,
    plot_seed_curves,
    train_arm,
    warm_start,
)
from densegym.trainers.seed_stats import paired, summarize

REWARD = {"progress": 1.0, "format": 0.1, "outcome": 1.0}
ARMS: dict[str, dict] = {
    "outcome": {"estimator": "grpo", "estimator_config": {"score": "outcome"}},
    "turn": {"estimator": "turn"},
    "gigpo": {"estimator": "gigpo"},
    "oprl": {"estimator": "oprl", "estimator_config": {"beta": 0.05, "step_advantage_w": 1.0, "variant": "rloo"},
             "prm_lr": 1e-4},
    "pure": {"estimator": "pure"},
    "gated": {"estimator": "grpo", "estimator_config": {"score": ["outcome", "gated"]},
              "transforms": [{"name": "gated", "channels": ["outcome", "progress"], "thresholds": [1.0]}]},
}
BASELINE = "outcome"

PRESETS = {
    "full": {"seeds": 5, "steps": 24, "eval_every": 8, "eval_tasks": 48, "eval_samples": 2},
    "quick": {"seeds": 5, "steps": 8, "eval_every": 4, "eval_tasks": 24, "eval_samples": 2},
    "smoke": {"seeds": 2, "steps": 1, "eval_every": 1, "eval_tasks": 2, "eval_samples": 1},
    # a CUDA GPU: a 12-layer, 512-wide model (about 40M parameters) in bf16, a longer warm start, larger steps
    # and 200 of them. Not run yet (no GPU has been lent to this benchmark). Expected, not measured: 5-8 hours on
    # one H200 for all 30 runs, about 10-15 minutes a run, bounded by transformers' token-by-token generate().
    "gpu": {"seeds": 5, "steps": 200, "eval_every": 20, "eval_tasks": 128, "eval_samples": 4,
            "config": {"device": "cuda", "dtype": "bfloat16", "tasks_per_step": 16, "group_size": 8,
                       "micro_batch_rows": 128, "model_config": {"hidden_size": 512, "intermediate_size": 1536,
                                                                  "num_hidden_layers": 12, "num_attention_heads": 8,
                                                                  "num_key_value_heads": 4},
                       "sft": {"episodes": 4000, "epochs": 6, "lr": 5e-4, "batch_rows": 64}}},
}


def base_config(out_dir: Path, preset: dict, steps: int, smoke: bool):
    config = demo_config(out_dir / "sft", steps=steps, seed=0)
    config = replace(config, reward_weights=dict(REWARD), task_pool=None, eval_seed=1_000_000,
                     eval_every=preset["eval_every"], eval_tasks=preset["eval_tasks"],
                     eval_samples=preset["eval_samples"])
    if smoke:
        config = replace(config, **{k: v for k, v in QUICK.items() if not k.startswith("eval")})
    return replace(config, **preset.get("config", {}))


def run(preset_name: str = "full", *, seeds: int | None = None, steps: int | None = None,
        arms: tuple[str, ...] = tuple(ARMS), out_dir: str | Path = "runs/bench_learning") -> dict:
    preset = PRESETS[preset_name]
    seeds = seeds or preset["seeds"]
    steps = steps or preset["steps"]
    if BASELINE not in arms:
        arms = (BASELINE, *arms)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = base_config(out_dir, preset, steps, smoke=preset_name == "smoke")
    t0 = time.perf_counter()
    start = warm_start(base, PROBE_SEEDS[:4] if preset_name == "smoke" else PROBE_SEEDS)
    histories: dict[str, dict[int, list[dict]]] = {arm: {} for arm in arms}
    seconds: dict[str, float] = {arm: 0.0 for arm in arms}
    for seed in range(seeds):
        for arm in arms:  # seed by seed: after each, report.json holds every complete pair so far
            t1 = time.perf_counter()
            config = replace(base, output_dir=str(out_dir / arm / f"seed-{seed}"), seed=seed, **ARMS[arm])
            histories[arm][seed] = train_arm(config, start)
            seconds[arm] += time.perf_counter() - t1
            print(f"[bench_learning] seed {seed} arm {arm}: {time.perf_counter() - t1:.0f}s, final held-out "
                  f"success {final_success(histories[arm][seed]):.3f}", file=sys.stderr, flush=True)
        report = make_report(preset_name, base, start, histories, seed + 1, steps,
                             {"total": time.perf_counter() - t0, **seconds})
        (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    per_step = base.tasks_per_step * base.group_size
    plot_seed_curves(histories, out_dir / "learning.png", x_scale=per_step, x_label="episodes consumed")
    return report


def make_report(preset_name: str, base, start, histories: dict, seeds: int, steps: int, seconds: dict) -> dict:
    per_step = base.tasks_per_step * base.group_size
    return {
        "date": time.strftime("%Y-%m-%d"), "commit": _commit(), "preset": preset_name, "seeds": seeds,
        "steps": steps, "episodes_per_step": per_step,
        "settings": {"env": base.env, "env_kwargs": base.env_kwargs, "lr": base.lr, "loss_agg": base.loss_agg,
                     "model_config": base.model_config, "dtype": base.dtype,
                     "tasks_per_step": base.tasks_per_step, "group_size": base.group_size,
                     "eval_tasks": base.eval_tasks, "eval_samples": base.eval_samples, "sft": base.sft},
        "warm_start": {"move_accuracy": start.accuracy, "sft_losses": start.losses, "seconds": start.seconds},
        "arms": summarize_arms(histories, per_step),
        "seconds": seconds,
        "histories": {arm: {str(s): h for s, h in runs.items()} for arm, runs in histories.items()},
    }


def _commit() -> str | None:
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return out.stdout.strip() or None


def final_success(history: list[dict]) -> float:
    return [r["eval/success"] for r in history if "eval/success" in r][-1]


def curve(runs: dict[int, list[dict]]) -> list[tuple[int, float]]:
    """``(step, mean held-out success over seeds)`` at every evaluation."""
    return [(step, summarize(list(by_seed.values())).mean) for step, by_seed in sorted(eval_curves(runs).items())]


def summarize_arms(histories: dict[str, dict[int, list[dict]]], per_step: int) -> dict[str, dict]:
    """Per arm: final success over seeds, the paired difference to the baseline, and the episodes its mean curve
    needs to reach the baseline's final mean. That last figure exists only when the baseline ended above where
    it started (the warm start): otherwise every arm "reaches" it at 0 episodes, which says nothing."""
    base_final = {s: final_success(h) for s, h in histories[BASELINE].items()}
    target = summarize(list(base_final.values())).mean
    base_curve = curve(histories[BASELINE])
    improved = target > base_curve[0][1] + 1e-12
    out = {}
    for arm, runs in histories.items():
        finals = {s: final_success(h) for s, h in runs.items()}
        final = summarize(list(finals.values()))
        mean_curve = curve(runs)
        reach = next((step * per_step for step, mean in mean_curve if mean >= target - 1e-12), None)
        if not improved:
            reach = None
        entry = {"final": final.__dict__, "curve": mean_curve, "episodes_to_baseline_final": reach,
                 "baseline_improved": improved, "finals": finals}
        if arm != BASELINE:
            common = sorted(set(finals) & set(base_final))
            entry["vs_baseline"] = paired([finals[s] for s in common], [base_final[s] for s in common]).__dict__
        out[arm] = entry
    base_reach = out[BASELINE]["episodes_to_baseline_final"]
    for entry in out.values():
        reach = entry["episodes_to_baseline_final"]
        entry["episodes_ratio"] = (reach / base_reach if reach is not None and base_reach else None)
    return out


def resummarize(report: dict) -> dict:
    """``report`` with its per-arm figures recomputed from its histories (seeds complete in every arm only)."""
    histories = {arm: {int(s): h for s, h in runs.items()} for arm, runs in report["histories"].items()}
    common = set.intersection(*(set(runs) for runs in histories.values()))
    histories = {arm: {s: runs[s] for s in sorted(common)} for arm, runs in histories.items()}
    return {**report, "seeds": len(common), "arms": summarize_arms(histories, report["episodes_per_step"])}


def format_table(report: dict) -> str:
    from densegym.evaluate import text_table

    rows = []
    for arm, e in report["arms"].items():
        f, d = e["final"], e.get("vs_baseline")
        reach, ratio = e["episodes_to_baseline_final"], e["episodes_ratio"]
        rows.append((
            arm, f"{f['mean']:.3f} +- {f['se']:.3f}", f"[{f['low']:.3f}, {f['high']:.3f}]",
            "" if d is None else f"{d['diff']:+.3f} +- {d['se']:.3f}",
            "" if d is None or d["p"] != d["p"] else f"{d['p']:.3f}",
            "n/a" if not e["baseline_improved"] else "never" if reach is None else f"{reach}",
            "" if ratio is None else f"{ratio:.2f}",
        ))
    headers = ("arm", "final success", "95% interval", f"minus {BASELINE} (paired)", "p",
               "episodes to baseline final", "ratio")
    acc = report["warm_start"]["move_accuracy"]
    head = (f"warm start: held-out move accuracy {acc['accuracy']:.3f} (chance {acc['chance']:.3f}, legal "
            f"{acc['legal']:.3f}, {acc['states']:.0f} states), held-out success before RL "
            f"{report['arms'][BASELINE]['curve'][0][1]:.3f}; {report['seeds']} seeds x {report['steps']} steps x "
            f"{report['episodes_per_step']} episodes per arm\n")
    start = report["arms"][BASELINE]["curve"][0][1]
    foot = "" if report["arms"][BASELINE]["baseline_improved"] else (
        f"\n(n/a: the baseline's final mean success is not above its start, {start:.3f}, so there is no "
        "improvement to reach)")
    return head + text_table(headers, rows) + foot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="8 steps, 24 evaluation levels: at most 30 minutes")
    size.add_argument("--smoke", action="store_true", help="a seconds-long check of the pipeline (the test)")
    size.add_argument("--gpu", action="store_true", help="a 40M-parameter model in bf16 on a CUDA GPU, 200 steps")
    parser.add_argument("--seeds", type=int, help="training seeds per arm (default 5; 2 with --smoke)")
    parser.add_argument("--steps", type=int, help="RL steps per run (default 24; 8 with --quick)")
    parser.add_argument("--arms", help=f"comma-separated subset of {','.join(ARMS)} (the baseline always runs)")
    parser.add_argument("--out-dir", default="runs/bench_learning")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", help="also write the report to this file")
    parser.add_argument("--table", metavar="REPORT", help="print the table of a finished (or stopped) run's "
                        "report.json, recomputed from its histories, and exit")
    args = parser.parse_args()
    if args.table:
        print(format_table(resummarize(json.loads(Path(args.table).read_text()))))
        return
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    arms = tuple(args.arms.split(",")) if args.arms else tuple(ARMS)
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arm(s) {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    preset = "smoke" if args.smoke else "quick" if args.quick else "gpu" if args.gpu else "full"
    report = run(preset, seeds=args.seeds, steps=args.steps, arms=arms, out_dir=args.out_dir)
    print(format_table(report))
    print(f"\ntotal {report['seconds']['total']:.0f}s; curves: {args.out_dir}/learning.png; "
          f"report: {args.out_dir}/report.json")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
