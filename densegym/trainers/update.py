"""The policy update over per-step rows (docs/algorithms.md section 0.3), with exact gradient accumulation.

``policy_update`` runs ``ppo_epochs`` passes over a batch, each split into ``mini_batches`` optimizer steps;
inside a mini-batch, rows are forwarded and back-propagated ``micro_batch_rows`` at a time. The aggregate of
the loss (``token-mean`` or ``seq-mean-token-mean`` over trajectories) is a weighted sum with weights computed
over the whole mini-batch (:func:`densegym.trainers.losses.token_weights`), so the accumulated gradient is the
gradient of the mini-batch loss, whatever the micro-batch size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from densegym.agents.hf import sequence_logprobs
from densegym.trainers.batch import Row, chunks
from densegym.trainers.losses import policy_loss, token_weights


def rows_logprobs(model: Any, rows: Sequence[Row], pad_token_id: int, micro_batch_rows: int) -> list[torch.Tensor]:
    """Teacher-forced action log-probs of every row, without gradients, in eval mode (the old policy or the
    reference; dropout off as at sampling time)."""
    out: list[torch.Tensor] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for piece in chunks(range(len(rows)), micro_batch_rows):
                out.extend(
                    t.detach().float().cpu()
                    for t in sequence_logprobs(
                        model, [rows[k].prompt_ids for k in piece], [rows[k].action_ids for k in piece], pad_token_id
                    )
                )
    finally:
        model.train(was_training)
    return out


def policy_update(
    model: Any,
    optimizer: torch.optim.Optimizer,
    rows: Sequence[Row],
    row_index: Sequence[int],
    advantages: Sequence[np.ndarray],
    old_logprobs: Sequence[torch.Tensor],
    *,
    pad_token_id: int,
    config: Any,
    rng: np.random.Generator,
    ref_logprobs: Sequence[torch.Tensor] | None = None,
    no_sync: Callable[[], Any] | None = None,
    backward: Callable[[torch.Tensor], None] | None = None,
    clip_grad: Callable[[float], float] | None = None,
    progress: Callable[[int], Any] | None = None,
) -> dict[str, float]:
    """Update ``model`` on the rows ``row_index`` (indices into ``rows``; the others are masked out).

    ``advantages``, ``old_logprobs`` and ``ref_logprobs`` are per row (aligned with ``rows``), per action token.
    ``config`` supplies ppo_epochs, mini_batches, micro_batch_rows, clip_low, clip_high, loss_agg, kl_coef,
    entropy_coef, max_grad_norm. ``no_sync``/``backward``/``clip_grad`` come from the distributed runtime
    (DDP: no gradient all-reduce until the last micro-batch). ``progress(n)`` is called after each micro-batch with
    its number of rows. Returns metrics averaged over optimizer steps.
    """
    device = next(model.parameters()).device
    backward = backward or (lambda loss: loss.backward())
    clip_grad = clip_grad or (
        lambda norm: float(torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], norm))
    )
    totals: dict[str, float] = {}
    steps = 0
    model.train()
    trajectories = sorted({rows[k].traj for k in row_index})
    for _ in range(config.ppo_epochs):
        order = rng.permutation(len(trajectories)) if config.mini_batches > 1 else np.arange(len(trajectories))
        for part in np.array_split(order, config.mini_batches):
            members = {trajectories[j] for j in part}
            mini = [k for k in row_index if rows[k].traj in members]
            metrics = _accumulate(
                model, rows, mini, advantages, old_logprobs, ref_logprobs, config, pad_token_id, device,
                no_sync, backward, progress,
            )
            metrics["grad_norm"] = clip_grad(config.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            for k, v in metrics.items():
                totals[k] = totals.get(k, 0.0) + v
            steps += 1
    return {k: v / max(steps, 1) for k, v in totals.items()}


def _accumulate(model, rows, mini, advantages, old_logprobs, ref_logprobs, config, pad_token_id, device, no_sync,
                backward, progress=None) -> dict[str, float]:
    """Forward/backward the mini-batch ``mini`` in micro-batches; return its summed (= aggregated) metrics."""
    if not mini:
        # Nothing to learn from here, but under DDP the other ranks wait for this rank's gradient, which only a
        # forward through the wrapped model provides: one pad token with zero weight (a zero gradient, and the
        # same metric keys as the other ranks report).
        new = sequence_logprobs(model, [[pad_token_id]], [[pad_token_id]], pad_token_id)[0][None]
        zero = torch.zeros_like(new.detach())
        loss, parts = policy_loss(
            new, zero, zero, torch.ones_like(new, dtype=torch.bool), clip_low=config.clip_low,
            clip_high=config.clip_high, agg=config.loss_agg, ref_logprobs=zero if ref_logprobs is not None else None,
            kl_coef=config.kl_coef, entropy=zero if config.entropy_coef else None, entropy_coef=config.entropy_coef,
            weights=zero,
        )
        backward(loss)
        return {**{k: 0.0 for k in parts}, "loss": 0.0}
    seq_of_token = [rows[k].traj for k in mini for _ in rows[k].action_ids]
    weights = token_weights(seq_of_token, config.loss_agg)
    offsets = np.cumsum([0] + [len(rows[k].action_ids) for k in mini])
    pieces = chunks(range(len(mini)), config.micro_batch_rows)
    metrics: dict[str, float] = {}
    for n, piece in enumerate(pieces):
        idx = [mini[j] for j in piece]
        entropies: list[torch.Tensor] | None = [] if config.entropy_coef else None
        new = sequence_logprobs(
            model, [rows[k].prompt_ids for k in idx], [rows[k].action_ids for k in idx], pad_token_id,
            entropies=entropies,
        )
        flat = torch.cat(new)[None]
        old = torch.cat([old_logprobs[k] for k in idx]).to(device)[None]
        adv = torch.as_tensor(np.concatenate([advantages[k] for k in idx]), dtype=torch.float32, device=device)[None]
        w = weights[offsets[piece[0]] : offsets[piece[-1] + 1]].to(device)[None]
        ref = torch.cat([ref_logprobs[k] for k in idx]).to(device)[None] if ref_logprobs is not None else None
        loss, parts = policy_loss(
            flat, old, adv, torch.ones_like(flat, dtype=torch.bool),
            clip_low=config.clip_low, clip_high=config.clip_high, agg=config.loss_agg,
            ref_logprobs=ref, kl_coef=config.kl_coef,
            entropy=torch.cat(entropies)[None] if entropies is not None else None, entropy_coef=config.entropy_coef,
            weights=w,
        )
        last = n == len(pieces) - 1
        with contextlib.nullcontext() if last or no_sync is None else no_sync():
            backward(loss)
        parts["loss"] = float(loss.detach())
        for k, v in parts.items():
            metrics[k] = metrics.get(k, 0.0) + v
        if progress is not None:
            progress(len(idx))
    return metrics
