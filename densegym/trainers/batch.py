"""Rollout to batch: the **per-step layout**, one row per turn, with explicit turn spans.

A row is what the policy saw and what it sampled at one turn: ``Turn.prompt_ids`` (the chat-templated
conversation the context policy built, ending with the opened assistant turn) followed by ``Turn.action_ids``.
The loss mask is 1 exactly on the action tokens; the prompt (task text, observations, earlier turns, template
scaffolding) is never scored. Every row carries its ``(trajectory, turn)`` index, so a turn's advantage reaches
exactly that turn's tokens; nothing is inferred from where rewards are non-zero.

Why per-step rather than one concatenated multi-turn sequence (docs/algorithms.md section 0.2): with a trimmed context
(``current``, ``last_k``) the prompt of turn t+1 does not extend turn t's, so there is no single sequence to
concatenate; and re-tokenising a whole conversation need not reproduce the tokens that were sampled (BPE merges
across message boundaries). The rows are the exact token streams of the rollout. With the full-history context
both layouts give the same per-token log-probabilities (causal attention); the per-step one pays for re-encoding
the shared prefix. The aggregation still follows the trajectory: with ``seq-mean-token-mean`` a "sequence" is a
trajectory (all of its rows), as in the concatenated layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from densegym.trajectory import Trajectory, Turn


@dataclass(frozen=True)
class Row:
    """One turn of one trajectory: ``batch[traj].turns[turn]``."""

    traj: int
    turn: int
    prompt_ids: tuple[int, ...]
    action_ids: tuple[int, ...]


def turn_rows(batch: Sequence[Trajectory]) -> list[Row]:
    """Every turn with sampled tokens, in batch order. A turn without token ids cannot be trained on."""
    rows = []
    for i, traj in enumerate(batch):
        for t, turn in enumerate(traj.turns):
            if turn.prompt_ids is None or turn.action_ids is None:
                raise ValueError(
                    f"trajectory {i} turn {t} has no token ids; train on trajectories of a model agent "
                    "(HFAgent, VLLMAgent), not of a scripted or text-only one"
                )
            if turn.action_ids:  # an empty generation has nothing to score
                rows.append(Row(i, t, tuple(turn.prompt_ids), tuple(turn.action_ids)))
    return rows


def row_advantages(rows: Sequence[Row], advantages: Sequence[object]) -> list[np.ndarray]:
    """Each row's per-token advantages: turn t's value broadcast over its action tokens, or, where an
    estimator returned per-token arrays for a trajectory (a list of arrays, one per turn), that turn's array."""
    out = []
    for row in rows:
        adv = advantages[row.traj]
        n = len(row.action_ids)
        if isinstance(adv, list) and adv and np.ndim(adv[0]) == 1:
            values = np.asarray(adv[row.turn], dtype=np.float64)
            if values.shape != (n,):
                raise ValueError(f"row {row}: {values.shape[0]} per-token advantages for {n} action tokens")
            out.append(values)
        else:
            out.append(np.full(n, float(np.asarray(adv, dtype=np.float64)[row.turn])))
    return out


def select_turns(rows: Sequence[Row], turn_masks: Sequence[np.ndarray] | None) -> list[int]:
    """Indices of the rows whose turn is kept by ``turn_masks`` (the ``turn`` estimator masks state groups
    without a preference); every row when there are no masks."""
    if turn_masks is None:
        return list(range(len(rows)))
    return [k for k, row in enumerate(rows) if turn_masks[row.traj][row.turn] > 0]


def chunks(indices: Sequence[int], size: int) -> list[list[int]]:
    """``indices`` in consecutive pieces of at most ``size``."""
    return [list(indices[i : i + size]) for i in range(0, len(indices), size)]


def expand_candidates(batch: Sequence[Trajectory]) -> list[Trajectory]:
    """The batch plus, for every turn rolled out with VPR candidates (``collect(candidates=K)``), each
    uncommitted candidate as a one-turn trajectory of the same task group and state group, so that the ``turn``
    estimator compares the K candidates of one state. Candidates are neither successes nor terminal."""
    out = list(batch)
    for traj in batch:
        for turn in traj.turns:
            for cand in turn.info.get("candidates", ()):
                out.append(
                    Trajectory(
                        env_id=traj.env_id, task_id=traj.task_id, seed=traj.seed, group_id=traj.group_id,
                        turns=[Turn(
                            observation=turn.observation, action=cand["action"], reward=cand["reward"],
                            components=dict(cand["components"]), action_valid=cand["action_valid"],
                            anchor=turn.anchor, info={"state_group": turn.info["state_group"]},
                            prompt_ids=cand["prompt_ids"], action_ids=cand["action_ids"],
                            action_logprobs=cand["action_logprobs"],
                        )],
                        privileged=traj.privileged, meta={"candidate": True},
                    )
                )
    return out
