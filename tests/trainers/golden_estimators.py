"""The fixed-seed one-step runs whose metrics ``data/estimator_golden.json`` holds (see
``test_estimator_plugins.py``). The fixture was written by the code before estimators became plugins:

    python -m tests.trainers.golden_estimators      # rewrites tests/trainers/data/estimator_golden.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "estimator_golden.json"
LETTER_ENV = "tests.trainers.envs:LetterEnv"

# name -> TrainerConfig overrides; every built-in estimator, VPR candidates and both IGPO/OPRL providers included
CASES: dict[str, dict[str, Any]] = {
    "grpo": {"estimator": "grpo"},
    "rloo": {"estimator": "rloo"},
    "turn": {"estimator": "turn"},
    "turn_candidates": {"estimator": "turn", "candidates": 2},
    "igpo": {"estimator": "igpo", "answer_key": "answer"},
    "oprl": {"estimator": "oprl", "prm_updates": 2},
    # the PRM's rewards after its DPO step: non-zero step rewards at the first step (pre_update gives 0 there)
    "oprl_post_update": {"estimator": "oprl", "prm_lr": 1e-2,
                         "estimator_config": {"prm_reward_timing": "post_update"}},
    "gigpo": {"estimator": "gigpo"},
    "pure": {"estimator": "pure"},
}

VOLATILE = ("time/", "throughput/")  # wall-clock figures; everything else is a function of the seed


def run_case(name: str, output_dir: str | Path) -> dict[str, float]:
    """One training step of ``CASES[name]`` on LetterEnv with the one-layer tiny model, one torch thread;
    the step's metrics without the wall-clock ones, and two checksums of the updated weights."""
    import torch

    from densegym.trainers.config import TrainerConfig
    from densegym.trainers.trainer import Trainer

    settings = dict(
        env=LETTER_ENV, steps=1, tasks_per_step=2, group_size=4, max_turns=2, max_new_tokens=4,
        model_config={"num_hidden_layers": 1}, output_dir=str(output_dir), lr=1e-2, progress=False,
        log_rollouts=False, seed=3,
    )
    settings.update(CASES[name])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with Trainer(TrainerConfig(**settings)) as trainer:
            metrics = dict(trainer.train()[-1])
            with torch.no_grad():  # the update itself, to the last bit that float64 sums keep
                params = [p.double() for p in trainer.policy.parameters()]
                metrics["check/weight_sum"] = float(sum(p.sum() for p in params))
                metrics["check/weight_sq_sum"] = float(sum(p.square().sum() for p in params))
    finally:
        torch.set_num_threads(threads)
    return {k: float(v) for k, v in sorted(metrics.items()) if not k.startswith(VOLATILE)}


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        golden = {name: run_case(name, Path(tmp) / name) for name in CASES}
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA}", file=sys.stderr)


if __name__ == "__main__":
    main()
