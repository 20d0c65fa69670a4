"""Warm start: supervised fine-tuning on the env's oracle demonstrations.

The oracle plays (``OracleAgent``, through :func:`densegym.rollout.collect`); each of its turns becomes a row
of the per-step layout built exactly as the RL rollout will build it: the same context policy, the same chat
template (``HFAgent.prompt_ids``), and the action followed by the end-of-turn token the sampler stops at. The
loss is the mean negative log-likelihood of the action tokens (``token-mean``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from densegym.agents.context import ContextPolicy
from densegym.agents.hf import HFAgent, sequence_logprobs
from densegym.trainers.batch import Row, chunks
from densegym.trajectory import Trajectory


def end_of_turn_id(tokenizer: Any) -> int:
    """The token that closes an assistant turn: ``<|im_end|>`` in ChatML vocabularies, else eos."""
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if im_end is not None and im_end != tokenizer.unk_token_id:
        return int(im_end)
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has neither <|im_end|> nor an eos token to end a demonstrated turn")
    return int(tokenizer.eos_token_id)


def demonstration_rows(
    demos: Sequence[Trajectory], agent: HFAgent, context: ContextPolicy
) -> list[Row]:
    """One row per demonstrated turn: the prompt the policy would see there, and the oracle's action."""
    end = end_of_turn_id(agent.tokenizer)
    rows = []
    for i, traj in enumerate(demos):
        observations = [turn.observation for turn in traj.turns]
        actions = [turn.action for turn in traj.turns]
        for t in range(len(traj.turns)):
            prompt = agent.prompt_ids(context.build(observations[: t + 1], actions[:t]))
            action = agent.tokenizer(actions[t], add_special_tokens=False)["input_ids"] + [end]
            rows.append(Row(i, t, tuple(prompt), tuple(action)))
    return rows


def supervised_finetune(
    model: Any,
    rows: Sequence[Row],
    *,
    pad_token_id: int,
    epochs: int = 2,
    lr: float = 1e-3,
    batch_rows: int = 32,
    seed: int = 0,
    progress: Any = None,
) -> list[float]:
    """Minimise the action tokens' NLL over ``rows`` with AdamW; returns the mean loss of each epoch."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    rng = np.random.default_rng(seed)
    history = []
    model.train()
    for _ in range(epochs):
        losses = []
        for piece in chunks(list(rng.permutation(len(rows))), batch_rows):
            logps = sequence_logprobs(
                model, [rows[k].prompt_ids for k in piece], [rows[k].action_ids for k in piece], pad_token_id
            )
            loss = -torch.cat(logps).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            if progress is not None:
                progress(losses[-1])
        history.append(float(np.mean(losses)) if losses else 0.0)
    model.eval()
    return history
