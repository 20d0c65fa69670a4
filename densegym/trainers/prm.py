"""OPRL's implicit process reward model (docs/algorithms.md section 1(b)): a second causal LM ``pi_phi`` whose
log-ratio to the rollout policy gives every turn a reward, trained with the trajectory-DPO loss.

    q_t      = beta * sum_{tokens k of a_t} (log pi_phi(y_k) - log pi_old(y_k))
    Q(tau)   = mean_t q_t  (traj_score_agg="mean", code)  or  sum_t q_t ("sum", paper)
    L_PRM    = mean over (success, failure) pairs of the same task of -log sigma(Q(tau+) - Q(tau-))

The PRM starts as a copy of the policy after its warm start (iStar), so at the first step every ``q_t`` is 0 and
every pair's loss is ``log 2``. ``prm_reward_timing="pre_update"`` (code) scores the batch with the PRM as it was before this
batch's DPO step; ``"post_update"`` (paper) scores it after.

Several processes: each rank scores and pairs its own groups; the PRM's gradients are averaged over the ranks
weighted by their pair counts (the gradient of the mean over all pairs), so every rank keeps the same PRM.

Memory: the DPO loss couples all turns of a trajectory and all trajectories of a pair, so the PRM forward keeps
the graph of every row of the batch; keep batches modest for large PRMs.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from densegym.agents.hf import sequence_logprobs
from densegym.trainers.batch import Row, chunks
from densegym.trainers.estimators.oprl import OPRLConfig, oprl_pairs
from densegym.trainers.losses import implicit_step_rewards, trajectory_dpo_loss
from densegym.trajectory import Trajectory


class ImplicitPRM:
    """The PRM model, its optimizer, and the two things the trainer asks of it: step rewards and an update."""

    def __init__(self, policy: Any, *, lr: float, config: OPRLConfig, pad_token_id: int, micro_batch_rows: int = 32,
                 runtime: Any = None):
        self.model = copy.deepcopy(policy)
        self.model.train()
        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=lr)
        self.config = config
        self.pad_token_id = pad_token_id
        self.micro_batch_rows = micro_batch_rows
        self.runtime = runtime  # densegym.trainers.distributed.Runtime, or None for one process

    def step_scores(
        self, batch: Sequence[Trajectory], rows: Sequence[Row], old_logprobs: Sequence[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(q, turn_mask)``: beta-scaled step rewards ``[n_trajectories, max_turns]`` (differentiable in the
        PRM) and which entries are real turns."""
        device = next(self.model.parameters()).device
        prm_lp: list[torch.Tensor] = []
        for piece in chunks(range(len(rows)), self.micro_batch_rows):
            prm_lp.extend(
                sequence_logprobs(
                    self.model, [rows[k].prompt_ids for k in piece], [rows[k].action_ids for k in piece],
                    self.pad_token_id,
                )
            )
        # the concatenated action-token layout of each trajectory, with each token's turn index
        per_traj: list[list[int]] = [[] for _ in batch]
        for k, row in enumerate(rows):
            per_traj[row.traj].append(k)
        empty = torch.zeros(0, device=device)
        prm = [torch.cat([prm_lp[k] for k in ks]) if ks else empty for ks in per_traj]
        old = [torch.cat([old_logprobs[k].to(device) for k in ks]) if ks else empty for ks in per_traj]
        turn_ids = [
            torch.tensor([rows[k].turn for k in ks for _ in rows[k].action_ids], dtype=torch.long, device=device)
            if ks else torch.zeros(0, dtype=torch.long, device=device)
            for ks in per_traj
        ]
        num_turns = max((len(t.turns) for t in batch), default=0)
        q = implicit_step_rewards(
            pad_sequence(prm, batch_first=True),
            pad_sequence(old, batch_first=True),
            pad_sequence(turn_ids, batch_first=True, padding_value=-1),
            num_turns,
            beta=self.config.beta,
        )
        mask = torch.zeros(len(batch), num_turns, dtype=torch.bool, device=device)
        for i, traj in enumerate(batch):
            mask[i, : len(traj.turns)] = True
        return q, mask

    def rewards_and_update(
        self, batch: Sequence[Trajectory], rows: Sequence[Row], old_logprobs: Sequence[torch.Tensor], updates: int = 1
    ) -> tuple[list[np.ndarray], dict[str, float]]:
        """Step rewards ``r_phi`` (one array per trajectory, one value per turn) and the PRM's DPO metrics."""
        pairs = oprl_pairs(batch)
        rewards: list[np.ndarray] | None = None
        metrics: dict[str, float] = {"prm_pairs": float(len(pairs))}
        for _ in range(updates):
            q, mask = self.step_scores(batch, rows, old_logprobs)
            if rewards is None and self.config.prm_reward_timing == "pre_update":
                rewards = _per_turn(q, batch)
            anywhere = any(self.runtime.all_ranks(bool(pairs))) if self.runtime is not None else bool(pairs)
            if not anywhere:
                break  # no success x failure pair (on any rank): nothing to learn this batch
            self.optimizer.zero_grad(set_to_none=True)
            if pairs:
                loss, parts = trajectory_dpo_loss(q, mask, pairs, self.config.traj_score_agg)
                loss.backward()
                metrics.update({f"prm_{k}": float(v) for k, v in parts.items() if k != "pairs"})
            if self.runtime is not None:  # this rank's pairs weigh as many as it has (zero gradient without any)
                params = [p for p in self.model.parameters() if p.requires_grad]
                self.runtime.weighted_mean_gradients(params, len(pairs))
            self.optimizer.step()
        if rewards is None:  # post_update, or the first scores when nothing was trained
            with torch.no_grad():
                rewards = _per_turn(self.step_scores(batch, rows, old_logprobs)[0], batch)
        return rewards, metrics

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])


def _per_turn(q: torch.Tensor, batch: Sequence[Trajectory]) -> list[np.ndarray]:
    values = q.detach().double().cpu().numpy()
    return [values[i, : len(traj.turns)].copy() for i, traj in enumerate(batch)]
