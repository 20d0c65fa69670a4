"""Information gain: how much each turn raised the policy's belief in the gold answer (docs/algorithms.md section 2).

A trajectory transform, applied by the trainer to finished trajectories of any env that puts the gold answer in
``info["privileged"]`` (so in ``Trajectory.privileged``). A :class:`BeliefProbe` scores the gold answer
teacher-forced after each prefix of the conversation:

    l_t = (1/L) sum_j log pi(a*_j | h_<=t, prefix, a*_<j)      t = 0 .. T-1     (h_<=0 = the task prompt only)
    p_t = exp(l_t)
    IG_t = p_t - p_{t-1}   ("prob_diff", the paper)   or   l_t - l_{t-1}   ("log_prob_diff", IGPO's 2026 train.sh)

``IG_t`` (t = 1 .. T-1) is written to ``turns[t-1].components["info_gain"]``; the last turn (the answer turn,
scored by the outcome) gets 0.0 so that every turn carries the component. ``turn.info["belief_log_prob"]``
keeps ``l_t`` of the prefix *after* the turn, for logging.

The probe runs the rollout policy (``pi_old``) without gradient: one teacher-forced pass per turn.
:class:`HFBeliefProbe` is the transformers implementation; torch and transformers are imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, Union, runtime_checkable

import numpy as np

from densegym.trajectory import Trajectory

INFO_GAIN = "info_gain"

# IGPO's fixed pseudo-response around the gold answer (section 2(b)); only the answer's tokens are scored.
IGPO_RESPONSE_PREFIX = "<think>\nNow there's enough information to answer\n</think>\n<answer>\n"

Message = dict[str, str]


@runtime_checkable
class BeliefProbe(Protocol):
    """Scores a gold answer after each conversation prefix."""

    def log_prob_of_answer(self, conversation_prefixes: Sequence[list[Message]], answer: str) -> list[float]:
        """For each prefix (a chat message list), the length-normalised log-probability ``l`` of ``answer``
        teacher-forced as the assistant's reply."""
        ...


def information_gain(log_probs: Sequence[float], kind: str = "prob_diff") -> np.ndarray:
    """``IG_t`` for t = 1..T-1 from ``l_0 .. l_{T-1}`` (length T-1; empty for a single-turn trajectory).

    ``prob_diff``: ``exp(l_t) - exp(l_{t-1})`` (telescopes to ``p_{T-1} - p_0``, each in [-1, 1]);
    ``log_prob_diff``: ``l_t - l_{t-1}`` (telescopes to ``l_{T-1} - l_0``).
    """
    ell = np.asarray(log_probs, dtype=np.float64)
    if kind == "prob_diff":
        return np.diff(np.exp(ell))
    if kind == "log_prob_diff":
        return np.diff(ell)
    raise ValueError(f"unknown info-gain kind {kind!r}; use 'prob_diff' or 'log_prob_diff'")


def conversation_prefixes(traj: Trajectory, system_prompt: str | None = None) -> list[list[Message]]:
    """``h_<=0 .. h_<=T-1``: the task prompt, then after each of the first T-1 turns its action and the
    observation it produced (``turns[t].observation`` is what turn t acted on)."""
    messages: list[Message] = [{"role": "system", "content": system_prompt}] if system_prompt else []
    turns = traj.turns
    if not turns:
        return []
    messages.append({"role": "user", "content": turns[0].observation})
    prefixes = [list(messages)]
    for t in range(1, len(turns)):
        messages.append({"role": "assistant", "content": turns[t - 1].action})
        messages.append({"role": "user", "content": turns[t].observation})
        prefixes.append(list(messages))
    return prefixes


AnswerKey = Union[str, Callable[[dict[str, Any]], str]]


def gold_answer(traj: Trajectory, answer_key: AnswerKey = "answer") -> str:
    """The answer to probe (``gt_for_probe``): ``privileged[answer_key]``, or ``answer_key(privileged)``.

    A list of aliases is probed with its first alias (docs/algorithms.md section 2(d) leaves this open).
    """
    privileged = traj.privileged or {}
    if callable(answer_key):
        answer = answer_key(privileged)
    elif answer_key in privileged:
        answer = privileged[answer_key]
    else:
        raise KeyError(f"trajectory has no privileged[{answer_key!r}]; it has {sorted(privileged)}")
    if isinstance(answer, (list, tuple)):
        answer = answer[0]
    return str(answer)


def apply_info_gain(
    batch: Sequence[Trajectory],
    probe: BeliefProbe,
    *,
    kind: str = "prob_diff",
    answer_key: AnswerKey = "answer",
    system_prompt: str | None = None,
) -> list[np.ndarray]:
    """Write ``components["info_gain"]`` into every turn of every trajectory; return each trajectory's
    ``l_0 .. l_{T-1}`` (what :func:`densegym.trainers.estimators.igpo.igpo` also accepts directly)."""
    all_log_probs = []
    for traj in batch:
        prefixes = conversation_prefixes(traj, system_prompt)
        if not prefixes:
            all_log_probs.append(np.zeros(0))
            continue
        log_probs = np.asarray(probe.log_prob_of_answer(prefixes, gold_answer(traj, answer_key)), dtype=np.float64)
        if log_probs.shape != (len(traj.turns),):
            raise ValueError(f"probe returned {log_probs.shape} log-probs for {len(traj.turns)} prefixes")
        gains = information_gain(log_probs, kind)
        for t, turn in enumerate(traj.turns):
            turn.components[INFO_GAIN] = float(gains[t]) if t < gains.size else 0.0
            if t + 1 < log_probs.size:
                turn.info["belief_log_prob"] = float(log_probs[t + 1])
        all_log_probs.append(log_probs)
    return all_log_probs


class HFBeliefProbe:
    """A :class:`BeliefProbe` over a transformers causal LM and its chat template.

    The input is ``chat_template(prefix, add_generation_prompt=True) + response_prefix`` followed by the answer's
    tokens; ``l`` is the mean log-probability of the answer tokens only (the fixed prefix and any suffix are not
    scored, and a causal LM's answer log-probs do not depend on what follows them). No gradient; the model's
    mode is left as it is (call ``model.eval()`` for dropout-free scores).
    """

    def __init__(self, model: Any, tokenizer: Any, *, response_prefix: str = IGPO_RESPONSE_PREFIX, batch_size: int = 8):
        self.model = model
        self.tokenizer = tokenizer
        self.response_prefix = response_prefix
        self.batch_size = batch_size

    def _context_ids(self, messages: list[Message]) -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.tokenizer(text + self.response_prefix, add_special_tokens=False)["input_ids"]

    def log_prob_of_answer(self, conversation_prefixes: Sequence[list[Message]], answer: str) -> list[float]:
        import torch

        answer_ids = self.tokenizer(answer, add_special_tokens=False)["input_ids"]
        if not answer_ids:
            raise ValueError("the gold answer encodes to no tokens")
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        device = next(self.model.parameters()).device
        results: list[float] = []
        for start in range(0, len(conversation_prefixes), self.batch_size):
            chunk = [self._context_ids(m) for m in conversation_prefixes[start : start + self.batch_size]]
            rows = [ctx + answer_ids for ctx in chunk]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), pad, dtype=torch.long)
            attention = torch.zeros((len(rows), width), dtype=torch.long)
            for r, row in enumerate(rows):  # right padding: positions stay 0..len-1
                ids[r, : len(row)] = torch.tensor(row)
                attention[r, : len(row)] = 1
            with torch.no_grad():
                logits = self.model(input_ids=ids.to(device), attention_mask=attention.to(device)).logits.float()
            log_probs = torch.log_softmax(logits, dim=-1)
            for r, ctx in enumerate(chunk):
                # token at position p is predicted by the logits at p - 1
                positions = torch.arange(len(ctx), len(ctx) + len(answer_ids), device=log_probs.device)
                targets = torch.tensor(answer_ids, device=log_probs.device)
                token_lp = log_probs[r, positions - 1, targets]
                results.append(float(token_lp.mean()))
        return results
