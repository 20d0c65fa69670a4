"""Run under a 2-process launcher by tests/trainers/test_distributed.py: one policy update in which rank 1 has no
row to learn from (every turn masked out, or every episode failed). Rank 1 must still take part in DDP's
gradient all-reduce, or rank 0 waits for it forever; both ranks then apply rank 0's gradient, halved by the
average. Each rank writes OUTPUT_DIR/report-rankR.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from densegym.trainers.batch import turn_rows
from densegym.trainers.config import TrainerConfig
from densegym.trainers.trainer import Trainer
from densegym.trainers.update import policy_update, rows_logprobs


def main() -> None:  # EnvPool's spawned workers import this module: nothing may run at import
    torch.set_num_threads(1)
    config = TrainerConfig(
        env="tests.trainers.envs:LetterEnv", device="cpu", model_config={"num_hidden_layers": 1}, tasks_per_step=2,
        group_size=2, max_turns=2, max_new_tokens=4, lr=1e-2, output_dir=sys.argv[1], progress=False,
        log_rollouts=False,
    )
    with Trainer(config) as trainer:
        before = [p.detach().clone() for p in trainer.policy.parameters()]
        rows = turn_rows(trainer.rollout(trainer.sample_tasks(1), seed=1))
        old = rows_logprobs(trainer.policy, rows, trainer.pad_token_id, config.micro_batch_rows)
        advantages = [np.ones(len(r.action_ids), dtype=np.float32) for r in rows]
        keep = list(range(len(rows))) if trainer.runtime.rank == 0 else []
        metrics = policy_update(
            trainer.model, trainer.optimizer, rows, keep, advantages, old, pad_token_id=trainer.pad_token_id,
            config=config, rng=np.random.default_rng(0), no_sync=trainer.runtime.no_sync,
            backward=trainer.runtime.backward, clip_grad=trainer.runtime.clip_grad,
        )
        checksum = float(sum(p.detach().double().sum() for p in trainer.policy.parameters()))
        report = {
            "rank": trainer.runtime.rank, "rows": len(keep), "metric_keys": sorted(metrics),
            "changed": any(not torch.equal(a, b) for a, b in zip(before, trainer.policy.parameters())),
            "spread": trainer.runtime.spread(checksum),
        }
    Path(sys.argv[1], f"report-rank{report['rank']}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
