"""Your own advantage estimator, registered and trained with the bundled ``Trainer``.

``mixed_return`` gives turn t of trajectory i the GRPO outcome advantage (docs/algorithms.md section 10(b)) plus a
weighted, group-normalised discounted dense return (the step return of section 6, Eq. 5):

    A^E_i    = (R_i - mean_G R) / (std_G R + eps)                  R_i = Trajectory.outcome, task group G
    G_i,t    = sum_{k >= t} gamma^(k-t) r_k^(i)                     r_k = Turn.reward (the env's dense reward)
    A^D_i,t  = (G_i,t - mean_G G) / (std_G G + eps)                 over every turn of the task group
    A_i,t    = A^E_i + dense_weight * A^D_i,t

An estimator is a pure function ``fn(batch, config) -> one float array per trajectory, one value per turn``
with a settings dataclass; ``register_estimator`` makes it selectable as ``estimator: mixed_return`` with its
settings under ``estimator_config``. ``validate()`` runs when the TrainerConfig is built, before any rollout. An
estimator that needs more than the batch says so: ``needs={"prm"}`` (OPRL's implicit PRM writes
``Turn.components["prm"]``), ``{"probe"}`` (IGPO's ``components["info_gain"]``), ``{"candidates"}`` (VPR's
state groups).

Run it (two steps of a tiny model on Sokoban, CPU, well under a minute):  python examples/custom_estimator.py
From YAML, list this file under ``plugins`` so that ``densegym train`` imports it first:

    plugins: [examples/custom_estimator.py]
    estimator: mixed_return
    estimator_config: {dense_weight: 0.5, gamma: 0.9}
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass

import numpy as np

from densegym.trainers import TrainerConfig, register_estimator
from densegym.trainers.estimators import GRPOConfig, grpo
from densegym.trainers.estimators.common import reverse_discounted_cumsum, task_groups, turn_rewards


@dataclass
class MixedReturnConfig:
    """dense_weight: the weight of the dense term; gamma: its discount; dense_norm: ``"mean_std"`` (centre and
    scale over the task group's turns) or ``"mean"`` (centre only)."""

    dense_weight: float = 0.5
    gamma: float = 0.9
    dense_norm: str = "mean_std"
    eps: float = 1e-6

    def validate(self) -> None:
        if self.dense_norm not in ("mean_std", "mean"):
            raise ValueError(f"dense_norm={self.dense_norm!r} is not allowed; use one of 'mean_std', 'mean'")


def mixed_return(batch, config: MixedReturnConfig | None = None) -> list[np.ndarray]:
    """``A_i,t = A^E_i + dense_weight * A^D_i,t`` (see the module docstring)."""
    config = config or MixedReturnConfig()
    outcome = grpo(batch, GRPOConfig(eps=config.eps))  # A^E_i on every turn of trajectory i
    returns = [reverse_discounted_cumsum(turn_rewards(traj, "reward"), config.gamma) for traj in batch]
    dense = [np.zeros(len(traj.turns)) for traj in batch]
    for members in task_groups(batch):
        pool = np.concatenate([returns[i] for i in members])
        if pool.size == 0:
            continue
        scale = pool.std() + config.eps if config.dense_norm == "mean_std" else 1.0
        for i in members:
            dense[i] = (returns[i] - pool.mean()) / scale
    return [a + config.dense_weight * d for a, d in zip(outcome, dense)]


register_estimator("mixed_return", mixed_return, MixedReturnConfig, sums_rewards_over=("reward",))


def train(steps: int = 2, output_dir: str | None = None, seed: int = 0) -> list[dict[str, float]]:
    """``steps`` training steps of the tiny CPU model with ``mixed_return``; the metrics of each step."""
    from densegym.trainers import Trainer

    output_dir = output_dir or tempfile.mkdtemp(prefix="custom-estimator-")
    # the same keys a YAML file would hold (TrainerConfig.from_yaml(path) reads them from one)
    config = TrainerConfig.from_yaml(None, [
        "env=densegym/Sokoban-small-v0", "model=tiny", "model_config={num_hidden_layers: 1}", "device=cpu",
        f"steps={steps}", "tasks_per_step=2", "group_size=4", "max_turns=3", "max_new_tokens=8", "lr=1e-3",
        "estimator=mixed_return", "estimator_config={dense_weight: 0.5, gamma: 0.9}", f"seed={seed}",
        f"output_dir={output_dir}", "progress=false", "log_rollouts=false",
    ])
    with Trainer(config) as trainer:
        return trainer.train()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    for metrics in train(args.steps):
        print(f"step {metrics['step']}: success {metrics['success']:.2f}, reward {metrics['reward']:+.3f}, "
              f"loss {metrics['loss']:+.4f}")
