"""``oprl``: Online Process Reward Learning / iStar, implicit step rewards (docs/algorithms.md section 1).

A second causal LM, the implicit PRM ``pi_phi``, gives each turn the reward
``r_phi(a_t) = beta * sum_{tokens of a_t} (log pi_phi - log pi_old)``
(:func:`densegym.trainers.losses.implicit_step_rewards`) and is trained with the trajectory-DPO loss on every
(success, failure) pair of a task group (:func:`oprl_pairs`, :func:`densegym.trainers.losses.trajectory_dpo_loss`).
This module turns those step rewards into per-turn advantages (``istar_rloo``, the headline estimator):

    r~      = r / (max_batch |r| + 1e-6)                                 (istar_norm = batch_norm)
    A^E_i   = n/(n-1) (R_i - mean_G R) = R_i - mean_{j != i} R_j         (n = 1: A^E = R_i)
    A^S_i,t = n/(n-1) (r~_i,t - b_G),  b_G = mean of the group's step rewards (n = 1: A^S = r~)
    A_i,t   = A^E_i + omega * A^S_i,t

``variant="grpo"`` uses ``(x - mean)`` ("mean_norm", the function default) or ``(x - mean)/(std + 1e-6)``
("mean_std_norm") for both terms; ``variant="reinforce_pp"`` subtracts the group mean, then whitens each term over
the batch. As the released code does (``whiten_over_tokens=True``), that whitening runs over every action token of
every turn (a turn's value repeated per token, ``A^E_i`` repeated on each of trajectory i's turns):

    x -> (x - m) / sqrt(v + 1e-8),   m, v = token-weighted mean and unbiased variance over the batch's tokens

``whiten_over_tokens=False`` whitens ``A^E`` over trajectories and ``A^S`` over turns, ``(x - mean)/(std + 1e-6)``.
``use_process_only`` gives ``A = A^S``.

Code-vs-paper switches: ``step_baseline_scope`` (``"all_steps_in_group"``, the stated intent, default; or
``"first_row_per_traj"``, bit-parity with the released code, whose de-duplication on (uid, traj_uid) keeps only
each trajectory's first step in ``b_G``); ``traj_score_agg`` and ``prm_reward_timing`` are read by the PRM
training loop (the DPO loss lives in ``losses``). Not implemented: the ``process_outcome_combined`` ablation.

Inputs (say which): ``step_rewards`` (one array of raw PRM step rewards ``r_phi`` per trajectory, one per turn),
or when it is ``None``, ``Turn.components[config.step_reward_key]`` (``"prm"``). The outcome ``R_i`` is
``config.score`` (``Trajectory.outcome``); pairing uses ``Trajectory.success``. The token weights of
``reinforce_pp`` are ``len(Turn.action_ids)`` (a turn without ``action_ids`` weighs one token).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from densegym.trainers.estimators.common import Key, check_choices, task_groups, trajectory_score, turn_rewards
from densegym.groupmath import batch_norm  # noqa: F401  (re-exported: part of this estimator's API)
from densegym.trajectory import Trajectory


@dataclass
class OPRLConfig:
    """iStar / OPRL (defaults of ``run_webshop.sh`` / ``run_sokoban.sh``, section 1(c)).

    beta: 0.05, the PRM's ``beta_train`` (used by the loss and the step-reward functions in ``losses``).
    step_advantage_w: omega, 1.0.
    variant: ``"rloo"`` (istar_rloo, default), ``"grpo"`` (istar_grpo), ``"reinforce_pp"``.
    grpo_mode: ``"mean_norm"`` (function default) or ``"mean_std_norm"``, for ``variant="grpo"``.
    reward_norm: ``"batch_norm"`` (divide by the batch max |r| + 1e-6) or ``"none"``.
    whiten_over_tokens: ``reinforce_pp`` only: whiten over all action tokens (``True``, released code) or the
        episode term over trajectories and the step term over turns (``False``).
    step_baseline_scope: ``"all_steps_in_group"`` (intent) or ``"first_row_per_traj"`` (released code).
    traj_score_agg: ``"mean"`` (code, default) or ``"sum"`` (paper) over a trajectory's step scores in the DPO loss.
    prm_reward_timing: ``"pre_update"`` (code) or ``"post_update"`` (paper text): which PRM parameters the
        trainer uses for the rewards of the batch it also trains the PRM on.
    """

    beta: float = 0.05
    step_advantage_w: float = 1.0
    variant: str = "rloo"
    grpo_mode: str = "mean_norm"
    whiten_over_tokens: bool = True
    reward_norm: str = "batch_norm"
    step_baseline_scope: str = "all_steps_in_group"
    use_process_only: bool = False
    traj_score_agg: str = "mean"
    prm_reward_timing: str = "pre_update"
    score: Key = "outcome"
    step_reward_key: str = "prm"
    eps: float = 1e-6

    def validate(self) -> None:
        """The enum-like fields, the PRM's included (checked again where they are used, some not at all)."""
        check_choices(self, {
            "variant": ("rloo", "grpo", "reinforce_pp"),
            "grpo_mode": ("mean_norm", "mean_std_norm"),
            "reward_norm": ("batch_norm", "none"),
            "step_baseline_scope": ("all_steps_in_group", "first_row_per_traj"),
            "traj_score_agg": ("mean", "sum"),
            "prm_reward_timing": ("pre_update", "post_update"),
        })


def oprl_pairs(batch: Sequence[Trajectory]) -> list[tuple[int, int]]:
    """Every (success, failure) pair inside each task group, as batch indices ``(i_plus, i_minus)``.

    A group with s successes and f failures yields exactly s*f pairs (a full Cartesian product; none when s or f
    is 0). Success is ``Trajectory.success`` (the code's ``acc > 0``).
    """
    pairs = []
    for members in task_groups(batch):
        wins = [i for i in members if batch[i].success]
        losses = [i for i in members if not batch[i].success]
        pairs.extend((w, l) for w in wins for l in losses)
    return pairs



def _centre(values: np.ndarray, baseline: float, n: int, config: OPRLConfig, pool: np.ndarray) -> np.ndarray:
    """One term against its group baseline ``b``: RLOO ``n/(n-1) (x - b)``; GRPO ``x - b`` ("mean_norm") or
    ``(x - b)/(std(pool) + eps)`` ("mean_std_norm"); REINFORCE++ ``x - b``. A group of one passes through."""
    if n == 1:
        return values.copy()
    if config.variant == "rloo":
        return (values - baseline) * n / (n - 1)
    if config.variant == "grpo" and config.grpo_mode == "mean_std_norm":
        return (values - baseline) / (float(pool.std(ddof=1)) + config.eps)
    return values - baseline


def _token_whiten(values: np.ndarray, tokens: np.ndarray, var_eps: float = 1e-8) -> np.ndarray:
    """verl's ``masked_whiten`` of per-turn values repeated ``tokens`` times: ``(x - m) / sqrt(v + 1e-8)`` with the
    token-weighted mean ``m`` and unbiased variance ``v``; passes through with one token or fewer."""
    n = tokens.sum()
    if n <= 1:
        return values.copy()
    mean = (tokens * values).sum() / n
    var = (tokens * (values - mean) ** 2).sum() / (n - 1)
    return (values - mean) / np.sqrt(var + var_eps)


def oprl(
    batch: Sequence[Trajectory], config: OPRLConfig | None = None, step_rewards: Sequence[np.ndarray] | None = None
) -> list[np.ndarray]:
    """iStar per-turn advantages ``A = A^E + omega * A^S`` (section 1(b), "Advantages")."""
    config = config or OPRLConfig()
    if config.variant not in ("rloo", "grpo", "reinforce_pp"):
        raise ValueError(f"unknown variant {config.variant!r}; use 'rloo', 'grpo' or 'reinforce_pp'")
    if config.step_baseline_scope not in ("all_steps_in_group", "first_row_per_traj"):
        raise ValueError(f"unknown step_baseline_scope {config.step_baseline_scope!r}")
    if config.reward_norm not in ("batch_norm", "none"):
        raise ValueError(f"unknown reward_norm {config.reward_norm!r}; use 'batch_norm' or 'none'")
    if step_rewards is None:
        step_rewards = [turn_rewards(traj, config.step_reward_key) for traj in batch]
    for i, (traj, r) in enumerate(zip(batch, step_rewards)):
        if len(r) != len(traj.turns):
            raise ValueError(f"trajectory {i}: {len(r)} step rewards for {len(traj.turns)} turns")
    r_tilde = batch_norm(step_rewards, config.eps) if config.reward_norm == "batch_norm" else [
        np.asarray(r, dtype=np.float64) for r in step_rewards
    ]
    scores = np.array([trajectory_score(traj, config.score) for traj in batch])

    episode = np.zeros(len(batch))
    step = [np.zeros(len(traj.turns)) for traj in batch]
    for members in task_groups(batch):
        n = len(members)
        R = scores[members]
        episode[members] = _centre(R, float(R.mean()), n, config, R)
        if config.step_baseline_scope == "all_steps_in_group":
            pool = np.concatenate([r_tilde[i] for i in members])
        else:  # the released code: one (the first) row per trajectory
            pool = np.array([r_tilde[i][0] for i in members if r_tilde[i].size])
        b_step = float(pool.mean()) if pool.size else 0.0
        for i in members:
            step[i] = _centre(r_tilde[i], b_step, n, config, pool)
    if config.variant == "reinforce_pp" and not config.whiten_over_tokens:  # A^E over trajectories, A^S over turns
        episode = (episode - episode.mean()) / (episode.std(ddof=1) + config.eps) if len(batch) > 1 else episode
        flat = np.concatenate(step) if step else np.zeros(0)
        if flat.size > 1:
            mu, sd = flat.mean(), flat.std(ddof=1)
            step = [(s - mu) / (sd + config.eps) for s in step]
    episode_turns = [np.full(len(traj.turns), episode[i]) for i, traj in enumerate(batch)]
    if config.variant == "reinforce_pp" and config.whiten_over_tokens and batch:  # released code: over every token
        tokens = np.array([len(turn.action_ids) if turn.action_ids is not None else 1
                           for traj in batch for turn in traj.turns], dtype=np.float64)
        ends = np.cumsum([len(traj.turns) for traj in batch])[:-1]
        episode_turns = np.split(_token_whiten(np.concatenate(episode_turns), tokens), ends)
        step = np.split(_token_whiten(np.concatenate(step), tokens), ends)
    if config.use_process_only:
        return [s.copy() for s in step]
    return [e + config.step_advantage_w * s for e, s in zip(episode_turns, step)]
