"""Losses (torch): the shared clipped policy-gradient loss (docs/algorithms.md section 0.3) and the implicit PRM's
pieces for OPRL/iStar (section 1(b)): step rewards from log-ratios and the trajectory-DPO loss.

All token tensors are ``[batch, length]`` over the concatenated layout (section 0.2); ``mask`` is 1 exactly on
the tokens the policy sampled (action turns) and 0 on prompt, observation, template and padding tokens.

Masking invariant: every masked position is removed with ``torch.where`` *before* any arithmetic, so the loss
does not depend on log-probs, reference log-probs or entropies at ``mask == 0`` (even inf or nan there) and its
gradient there is exactly zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from densegym.trainers.config import AGGREGATIONS


def masked_aggregate(
    values: torch.Tensor, mask: torch.Tensor, agg: str = "token-mean", weights: torch.Tensor | None = None
) -> torch.Tensor:
    """``token-mean``: ``sum(M x) / sum(M)`` over the batch (verl default); ``seq-mean-token-mean``: the mean over
    sequences of each sequence's token mean (GRPO paper), over the sequences with at least one action token.
    Returns 0 when nothing is unmasked.

    ``weights`` (from :func:`token_weights`) replace ``agg`` by ``sum(M w x)``: the same aggregate with its
    denominators taken over the whole batch, so that micro-batches of tokens add up to the full-batch loss.
    """
    mask = mask.to(torch.bool)
    values = torch.where(mask, values, torch.zeros_like(values))
    if weights is not None:
        return (values * torch.where(mask, weights.to(values.dtype), torch.zeros_like(values))).sum()
    if agg == "token-mean":
        return values.sum() / mask.sum().clamp(min=1)
    if agg == "seq-mean-token-mean":
        tokens = mask.sum(dim=-1)
        per_seq = values.sum(dim=-1) / tokens.clamp(min=1)
        has_tokens = tokens > 0
        return per_seq[has_tokens].sum() / has_tokens.sum().clamp(min=1)
    raise ValueError(f"unknown aggregation {agg!r}; use one of {AGGREGATIONS}")


def token_weights(sequence_of_token: Sequence[int], agg: str = "token-mean") -> torch.Tensor:
    """Per-token weights ``w`` with ``sum(w x) == AGG(x)`` over a whole batch of action tokens.

    ``sequence_of_token[k]`` is the sequence (trajectory) that action token k belongs to. ``token-mean``:
    ``w = 1/N``; ``seq-mean-token-mean``: ``w = 1/(S n_s)`` for S sequences with ``n_s`` tokens each.
    """
    seq = torch.as_tensor(list(sequence_of_token), dtype=torch.long)
    if seq.numel() == 0:
        return torch.zeros(0)
    if agg == "token-mean":
        return torch.full((seq.numel(),), 1.0 / seq.numel())
    if agg == "seq-mean-token-mean":
        _, inverse, counts = torch.unique(seq, return_inverse=True, return_counts=True)
        return 1.0 / (counts.numel() * counts[inverse].double())
    raise ValueError(f"unknown aggregation {agg!r}; use one of {AGGREGATIONS}")


def kl_k3(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """verl's ``low_var_kl``: ``pi_ref/pi - log(pi_ref/pi) - 1`` per token, log-ratio clamped to [-20, 20] and
    the result to [-10, 10] as in verl."""
    log_ratio = (ref_logprobs - logprobs).clamp(min=-20.0, max=20.0)
    return (torch.exp(log_ratio) - log_ratio - 1.0).clamp(min=-10.0, max=10.0)


def policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.28,
    agg: str = "token-mean",
    ref_logprobs: torch.Tensor | None = None,
    kl_coef: float = 0.0,
    entropy: torch.Tensor | None = None,
    entropy_coef: float = 0.0,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Token-level clipped policy gradient with asymmetric clip, optional k3 KL and entropy bonus (section 0.3):

        rho   = exp(log pi_theta - log pi_old)
        l     = -min(rho A, clip(rho, 1 - clip_low, 1 + clip_high) A)
        L     = AGG(l; M) + kl_coef AGG(KL_k3(pi_theta || pi_ref); M) - entropy_coef AGG(H; M)

    ``advantages`` are per token (a turn's advantage broadcast over its action tokens). ``entropy`` is the
    per-token entropy of pi_theta (:func:`token_entropy`), needed only when ``entropy_coef`` is not 0.
    Returns the loss and float metrics (``pg_loss``, ``clipfrac``, ``approx_kl``, ``kl``, ``entropy``).

    ``weights`` (:func:`token_weights` over the whole batch) make every AGG, and every metric, a weighted sum, so
    that the losses and metrics of micro-batches add up to those of the batch (gradient accumulation).
    """
    m = mask.to(torch.bool)
    zeros = torch.zeros_like(logprobs)
    logprobs = torch.where(m, logprobs, zeros)
    old_logprobs = torch.where(m, old_logprobs.to(logprobs.dtype), zeros).detach()
    advantages = torch.where(m, advantages.to(logprobs.dtype), zeros).detach()

    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    pg_losses = torch.maximum(unclipped, clipped)
    pg_loss = masked_aggregate(pg_losses, m, agg, weights)
    loss = pg_loss

    metric_agg = "token-mean" if weights is None else agg
    metrics = {
        "pg_loss": float(pg_loss.detach()),
        "clipfrac": float(masked_aggregate((clipped > unclipped).to(logprobs.dtype), m, metric_agg, weights)),
        "approx_kl": float(masked_aggregate(-log_ratio.detach(), m, metric_agg, weights)),
    }
    if ref_logprobs is not None and kl_coef != 0.0:
        ref = torch.where(m, ref_logprobs.to(logprobs.dtype), zeros).detach()
        kl = masked_aggregate(kl_k3(logprobs, ref), m, agg, weights)
        loss = loss + kl_coef * kl
        metrics["kl"] = float(kl.detach())
    if entropy is not None and entropy_coef != 0.0:
        ent = masked_aggregate(torch.where(m, entropy, torch.zeros_like(entropy)), m, agg, weights)
        loss = loss - entropy_coef * ent
        metrics["entropy"] = float(ent.detach())
    return loss, metrics


def turn_values_to_tokens(turn_values: Sequence[Sequence[float]], turn_ids: torch.Tensor) -> torch.Tensor:
    """Broadcast per-turn values (an estimator's advantages, or ``turn_with_mask``'s masks) onto the
    concatenated layout: ``out[b, k] = turn_values[b][turn_ids[b, k]]`` on action tokens, 0 where
    ``turn_ids[b, k] == -1`` (prompt, observations, template, padding)."""
    width = max((len(v) for v in turn_values), default=0)
    table = torch.zeros(len(turn_values), width + 1, dtype=torch.float32, device=turn_ids.device)
    for b, values in enumerate(turn_values):
        table[b, : len(values)] = torch.as_tensor(list(values), dtype=torch.float32, device=turn_ids.device)
    index = torch.where(turn_ids >= 0, turn_ids, torch.full_like(turn_ids, width)).long()  # -1 -> the 0 column
    return table.gather(1, index)


def gather_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """``log softmax(logits)[..., token]`` per position: ``logits[b, k]`` must be the distribution of
    ``tokens[b, k]`` (shift a causal LM's logits by one first)."""
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Per-position entropy ``H = -sum_v p_v log p_v`` of the softmax over the last dimension."""
    log_p = torch.log_softmax(logits.float(), dim=-1)
    return -(log_p.exp() * log_p).sum(dim=-1)


# ---- OPRL / iStar implicit PRM (docs/algorithms.md section 1(b)) ------------------------------------------------


def implicit_step_rewards(
    prm_logprobs: torch.Tensor, ref_logprobs: torch.Tensor, turn_ids: torch.Tensor, num_turns: int, beta: float = 0.05
) -> torch.Tensor:
    """Implicit PRM step rewards ``q_t = beta * sum_{k in tokens(a_t)} (log pi_phi(y_k) - log pi_old(y_k))``.

    ``turn_ids[b, k]`` is the turn index (0-based) of action token k of row b and -1 on every other token;
    returns ``[batch, num_turns]`` (a turn without tokens gets 0). Differentiable in ``prm_logprobs``;
    ``ref_logprobs`` (``pi_old``, the rollout's stored log-probs when ``ref_path=null``) is treated as constant.
    """
    is_action = turn_ids >= 0
    diff = torch.where(is_action, prm_logprobs - ref_logprobs.detach(), torch.zeros_like(prm_logprobs))
    index = torch.where(is_action, turn_ids, torch.zeros_like(turn_ids)).long()
    out = torch.zeros(prm_logprobs.shape[0], num_turns, dtype=prm_logprobs.dtype, device=prm_logprobs.device)
    return beta * out.scatter_add(1, index, diff)


def trajectory_scores(step_scores: torch.Tensor, turn_mask: torch.Tensor, agg: str = "mean") -> torch.Tensor:
    """``Q(tau)`` per row from its step scores ``[batch, num_turns]``: the mean over the trajectory's turns
    (code, ``traj_score_agg="mean"``) or the sum (paper's ``log pi(tau)``)."""
    m = turn_mask.to(torch.bool)
    total = torch.where(m, step_scores, torch.zeros_like(step_scores)).sum(dim=-1)
    if agg == "sum":
        return total
    if agg == "mean":
        return total / m.sum(dim=-1).clamp(min=1)
    raise ValueError(f"unknown traj_score_agg {agg!r}; use 'mean' or 'sum'")


def trajectory_dpo_loss(
    step_scores: torch.Tensor,
    turn_mask: torch.Tensor,
    pairs: Sequence[tuple[int, int]],
    traj_score_agg: str = "mean",
) -> tuple[torch.Tensor, dict[str, float]]:
    """iStar's "eto" trajectory-DPO loss ``mean over pairs of -log sigma(Q(tau+) - Q(tau-))``.

    ``step_scores`` are the beta-scaled step rewards (:func:`implicit_step_rewards`); ``pairs`` are the
    (success, failure) batch indices of :func:`densegym.trainers.estimators.oprl.oprl_pairs`. With no pairs the
    loss is a zero still attached to the graph; the caller should skip the optimizer step (``metrics["pairs"]``
    is 0).
    At initialisation (``pi_phi == pi_old``) every pair's loss is ``log 2``.
    """
    if not pairs:
        return step_scores.sum() * 0.0, {"dpo_loss": 0.0, "pairs": 0, "pair_accuracy": 0.0}
    q = trajectory_scores(step_scores, turn_mask, traj_score_agg)
    plus = torch.tensor([p for p, _ in pairs], device=q.device)
    minus = torch.tensor([n for _, n in pairs], device=q.device)
    margin = q[plus] - q[minus]
    loss = -F.logsigmoid(margin).mean()
    return loss, {
        "dpo_loss": float(loss.detach()),
        "pairs": len(pairs),
        "pair_accuracy": float((margin > 0).float().mean()),
    }
