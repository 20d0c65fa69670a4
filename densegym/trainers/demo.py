"""``densegym demo``: does a dense per-turn reward train a policy better than the outcome alone?

On two CPU cores in under ten minutes: a small Qwen2 (2 layers, 128 wide, built from a config, offline
tokenizer) is warm-started on oracle demonstrations of small Sokoban levels, and its move accuracy against the
oracle is measured on held-out levels (:mod:`densegym.trainers.move_accuracy`). Then the *same* warm-started
weights are trained with the same sample budget (steps x tasks x group size), once per arm and training seed:

* ``outcome``: GRPO on the episode outcome only (solved or not);
* ``dense``:   the ``turn`` estimator on the env's per-turn reward, ``progress`` (potential-based change in the
  oracle's optimal distance) + ``format`` + ``outcome``.

Seed ``k`` of both arms draws the same levels in the same order and starts its sampling from the same seed, so
the arms pair up by seed. Every run is evaluated on the same 16 training levels (4 samples each, 64 episodes)
before RL and every ``eval_every`` steps. The table gives each arm's mean success +- its standard error over
seeds and the paired difference with its paired t-test (:mod:`densegym.trainers.seed_stats`);
``runs/demo/curves.png`` plots the means, ``runs/demo/<arm>/seed-<k>/metrics.jsonl`` has every step.
``benchmarks/bench_learning.py`` runs the same comparison with every estimator, more seeds and held-out levels.

Why these settings (and what the other settings did; README, "The demo"):

* ``loss_agg="seq-mean-token-mean"``: with ``token-mean``, outcome-only GRPO puts more weight on failed
  episodes (they run all 8 turns; solved ones stop early), so the net update pushes down every sampled token,
  format tokens included; at lr 2e-3 the baseline stopped producing well-formed actions within 3 steps.
* ``lr=3e-4``: the largest learning rate tried at which the outcome-only baseline does not collapse (at 1e-3
  it did, in 4 steps; the dense arm was stable at 2e-3). It was chosen for the baseline, not for the result.
* the width (``DEMO_MODEL``) and the warm start (600 oracle episodes, 6 epochs): the 64-wide default model
  learned only the marginal distribution of the moves (held-out move accuracy at chance, also with 1,000
  episodes and 4 layers); 128 wide, it reads the board.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

DEMO_ENV = "densegym/Sokoban-v0"
DEMO_ENV_KWARGS = {"dim_room": [6, 6], "num_boxes": 1, "difficulty": [2, 6], "max_turns": 8}

TASK_POOL = 16  # levels 0..15 (see the module docstring)
# 2 layers, 128 wide (379k parameters): the narrower default (64) learned only the marginal distribution of
# the moves from the same demonstrations (held-out move accuracy at chance); this width learns to read the board
DEMO_MODEL = {"hidden_size": 128, "intermediate_size": 256}

ARMS = {
    "outcome": {"estimator": "grpo", "estimator_config": {"score": "outcome"}},
    "dense": {"estimator": "turn", "reward_weights": {"progress": 1.0, "format": 0.1, "outcome": 1.0}},
}


def demo_config(out_dir: str | Path, *, steps: int, seed: int) -> Any:
    from densegym.trainers.config import TrainerConfig

    return TrainerConfig(
        env=DEMO_ENV, env_kwargs=dict(DEMO_ENV_KWARGS), model="tiny", model_config=dict(DEMO_MODEL), context="current",
        steps=steps, tasks_per_step=8, group_size=4, max_turns=8, max_new_tokens=12, task_pool=TASK_POOL,
        lr=3e-4, loss_agg="seq-mean-token-mean", micro_batch_rows=64, temperature=1.0, old_logprobs="rollout",
        eval_every=max(1, steps // 2), eval_tasks=TASK_POOL, eval_seed=0, eval_samples=4, eval_temperature=1.0,
        sft={"episodes": 600, "epochs": 6, "lr": 2e-3, "batch_rows": 32},
        seed=seed, output_dir=str(out_dir), progress=False, log_rollouts=False,
        overwrite=True,  # the demo owns its directories: a second run replaces the first
    )


QUICK = {"tasks_per_step": 2, "group_size": 2, "eval_tasks": 2, "eval_samples": 1, "max_turns": 3,
         "sft": {"episodes": 4, "epochs": 1, "lr": 3e-3, "batch_rows": 8}}

DEMO_SEEDS = 3
# the held-out levels of the warm start's move accuracy: no training, warm-start or evaluation seed is here
PROBE_SEEDS = range(2_000_000, 2_000_100)


@dataclass
class WarmStart:
    """The warm-started weights every arm starts from, the SFT loss per epoch and the held-out move accuracy."""

    state: dict[str, Any]
    tokenizer: Any
    losses: list[float]
    accuracy: dict[str, float]
    seconds: float


@dataclass
class DemoRun:
    """``histories``: ``{arm: {seed: metric history}}``; ``warm_start``: what every arm started from."""

    histories: dict[str, dict[int, list[dict[str, float]]]]
    warm_start: WarmStart


def warm_start(config: Any, probe_seeds: Sequence[int] = PROBE_SEEDS) -> WarmStart:
    """SFT on ``config.sft`` oracle episodes once, then the policy's move accuracy against the oracle on the
    held-out levels of ``probe_seeds`` (:mod:`densegym.trainers.move_accuracy`)."""
    from densegym.trainers.move_accuracy import oracle_move_accuracy
    from densegym.trainers.trainer import Trainer

    t0 = time.perf_counter()
    _say(f"[warm start] supervised fine-tuning on {config.sft['episodes']} oracle episodes ...")
    with Trainer(replace(config, eval_every=0)) as warm:
        losses = warm.warm_start()
        accuracy = oracle_move_accuracy(warm.hf_agent, config.env, config.env_kwargs, probe_seeds, warm.context)
        state = copy.deepcopy(warm.policy.state_dict())
        tokenizer = warm.tokenizer
    seconds = time.perf_counter() - t0
    _say(f"[warm start] done in {seconds:.0f}s: NLL {losses[0]:.3f} -> {losses[-1]:.3f}; held-out move accuracy "
         f"{accuracy['accuracy']:.3f} (chance {accuracy['chance']:.3f}, legal {accuracy['legal']:.3f}, "
         f"{accuracy['states']:.0f} states of {len(probe_seeds)} levels)")
    return WarmStart(state, tokenizer, losses, accuracy, seconds)


def train_arm(config: Any, start: WarmStart) -> list[dict[str, float]]:
    """Train one arm (``config``: its settings, seed and output_dir) from the warm-started weights."""
    import torch

    from densegym.models.tiny import build_tiny_model
    from densegym.trainers.trainer import Trainer

    model = build_tiny_model(start.tokenizer, seed=config.seed, **config.model_config)
    model.load_state_dict(start.state)
    cuda = config.device in ("auto", "cuda") and torch.cuda.is_available()
    model.to(device="cuda" if cuda else "cpu", dtype=getattr(torch, config.dtype))
    with Trainer(replace(config, sft=None), model=model, tokenizer=start.tokenizer) as trainer:
        return trainer.train()


def run_demo(out_dir: str | Path = "runs/demo", *, steps: int = 16, seed: int = 0, seeds: int = DEMO_SEEDS,
             threads: int | None = None, arms: tuple[str, ...] = tuple(ARMS),
             quick: bool = False) -> DemoRun:
    """Warm start once, then train each arm from the same weights with ``seeds`` training seeds (``seed``,
    ``seed + 1`` ...). ``quick`` shrinks every size to a smoke test of the pipeline (its numbers mean nothing)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = demo_config(out_dir / "sft", steps=steps, seed=seed)
    if quick:
        base = replace(base, **QUICK)
    start = warm_start(base, PROBE_SEEDS[:4] if quick else PROBE_SEEDS)
    histories: dict[str, dict[int, list[dict[str, float]]]] = {arm: {} for arm in arms}
    for run_seed in range(seed, seed + seeds):
        for arm in arms:
            config = replace(base, output_dir=str(out_dir / arm / f"seed-{run_seed}"), seed=run_seed, **ARMS[arm])
            t1 = time.perf_counter()
            _say(f"[demo] seed {run_seed}, arm '{arm}' ({config.estimator}): {steps} steps x "
                 f"{config.tasks_per_step} levels x {config.group_size} samples ...")
            histories[arm][run_seed] = train_arm(config, start)
            _say(f"[demo] seed {run_seed}, arm '{arm}' done in {time.perf_counter() - t1:.0f}s")
    report = {"warm_start": {"losses": start.losses, "move_accuracy": start.accuracy},
              "histories": {arm: {str(k): h for k, h in runs.items()} for arm, runs in histories.items()}}
    (out_dir / "histories.json").write_text(json.dumps(report))
    return DemoRun(histories, start)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def eval_curves(runs: dict[int, list[dict[str, float]]], key: str = "eval/success") -> dict[int, dict[int, float]]:
    """``{step: {seed: value}}`` of metric ``key`` at every evaluation of every seed's run."""
    curves: dict[int, dict[int, float]] = {}
    for run_seed, history in runs.items():
        for record in history:
            if key in record:
                curves.setdefault(int(record["step"]), {})[run_seed] = float(record[key])
    return curves


def demo_table(histories: dict[str, dict[int, list[dict[str, float]]]], baseline: str = "outcome",
               key: str = "eval/success") -> str:
    """Per evaluation step: each arm's mean +- standard error over seeds, and each other arm's paired difference
    to ``baseline`` (mean +- se over seeds, two-sided paired t-test p)."""
    from densegym.evaluate import text_table
    from densegym.trainers.seed_stats import paired, summarize

    arms = list(histories)
    curves = {arm: eval_curves(histories[arm], key) for arm in arms}
    others = [arm for arm in arms if arm != baseline and baseline in curves]
    headers = ("step", *arms, *(f"{arm} - {baseline}" for arm in others), *(f"p ({arm})" for arm in others))
    rows = []
    for step in sorted(set().union(*(c.keys() for c in curves.values()))):
        cells: list[Any] = [step]
        for arm in arms:
            values = list(curves[arm].get(step, {}).values())
            cells.append(_mean_se(summarize(values)) if values else "")
        diffs, ps = [], []
        for arm in others:
            a, b = curves[arm].get(step, {}), curves[baseline].get(step, {})
            common = sorted(set(a) & set(b))
            if common:
                d = paired([a[s] for s in common], [b[s] for s in common])
                diffs.append(f"{d.diff:+.3f} +- {d.se:.3f}")
                ps.append("-" if d.p != d.p else f"{d.p:.2f}")  # nan: every seed gave the same difference
            else:
                diffs.append("")
                ps.append("")
        rows.append((*cells, *diffs, *ps))
    return text_table(headers, rows)


def _mean_se(s: Any) -> str:
    return f"{s.mean:.3f} +- {s.se:.3f}" if s.n > 1 else f"{s.mean:.3f}"


def plot_seed_curves(histories: dict[str, dict[int, list[dict[str, float]]]], path: str | Path,
                     panels: tuple[tuple[str, str], ...] = (("eval/success", "eval success rate"),
                                                            ("eval/components/progress", "eval progress / episode")),
                     x_scale: float = 1.0, x_label: str = "RL step") -> Path:
    """One panel per ``(metric key, title)``: each arm's mean over seeds with a +-1 standard error band; the x
    axis is the step times ``x_scale`` (the episodes per step, for samples consumed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from densegym.trainers.seed_stats import summarize

    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4))
    axes = list(axes) if len(panels) > 1 else [axes]
    for ax, (key, title) in zip(axes, panels):
        for arm, runs in histories.items():
            points = sorted(eval_curves(runs, key).items())
            if not points:
                continue
            xs = [step * x_scale for step, _ in points]
            stats = [summarize(list(by_seed.values())) for _, by_seed in points]
            means = [s.mean for s in stats]
            line, = ax.plot(xs, means, marker="o", label=arm)
            if all(s.n > 1 for s in stats):
                ax.fill_between(xs, [s.mean - s.se for s in stats], [s.mean + s.se for s in stats],
                                color=line.get_color(), alpha=0.15)
        _label(ax, title, x_label)
    return _save(fig, axes, path)


DEMO_PANELS = (("eval/success", "eval success rate"), ("eval/components/progress", "eval progress / episode"),
               ("success", "training success rate"))


def plot_curves(histories: dict[str, list[dict[str, float]]], path: str | Path,
                panels: tuple[tuple[str, str], ...] = DEMO_PANELS) -> Path:
    """One panel per ``(metric key, title)`` of ``panels`` (default: evaluation success rate and progress per arm
    over training steps, and the training success rate), a line per arm (``densegym train``: one, the run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(13 * len(panels) / 3, 3.8))
    for ax, (key, title) in zip(axes, panels):
        for arm, history in histories.items():
            points = [(r["step"], r[key]) for r in history if key in r]
            if points:
                ax.plot(*zip(*points), marker="o", label=arm)
        _label(ax, title, "RL step")
    return _save(fig, axes, path)


def _label(ax: Any, title: str, x_label: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.grid(alpha=0.3)


def _save(fig: Any, axes: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    axes[0].legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
