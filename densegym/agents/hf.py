"""``HFAgent``: a transformers causal LM that samples actions for a batch of conversations at once.

What it returns, exactly (per conversation, an :class:`AgentOutput`):

* ``prompt_ids``: the whole chat-templated prompt, ``apply_chat_template(conversation,
  add_generation_prompt=True)``, ending with the opened assistant turn (``<|im_start|>assistant\\n``).
  Control tokens written inside a message (an env echoing ``<|im_end|>``) are encoded as plain text.
* ``action_ids``: the generated ids up to and including the first end-of-turn token (the tokenizer's eos,
  ``<|im_end|>`` where the vocabulary has it, and the checkpoint's generation eos ids). A generation cut by
  ``max_new_tokens`` has no end token. Padding is never included.
* ``action_logprobs[t]``: ``log softmax(logits_t)[action_ids[t]]`` in float32, where ``logits_t`` are the
  model's **raw** logits for position ``t``: the policy itself at temperature 1, before temperature, top-p
  or top-k shape the sampling distribution. This is the ``log pi_theta(a_t | s, a_<t)`` that policy-gradient
  ratios and KL terms need, and it is what vLLM reports by default (``logprobs_mode="raw_logprobs"``), so
  both backends agree. With ``temperature != 1`` or ``top_p < 1`` the tokens are sampled from a different
  distribution than the one these numbers describe; trainers that need the behaviour policy's probability
  should sample at temperature 1 with ``top_p=1``.
* ``text``: ``action_ids`` decoded without special tokens (what the env receives).

:meth:`HFAgent.logprobs` recomputes the same numbers teacher-forced (one forward pass over prompt + action);
:func:`sequence_logprobs` is the same computation with gradients, for trainers.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from densegym.agents.base import AgentError, AgentOutput, Conversation


def left_pad(seqs: Sequence[Sequence[int]], pad_id: int, device: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)`` with every sequence right-aligned (padding on the left)."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        if s:
            ids[i, width - len(s) :] = torch.as_tensor(list(s), dtype=torch.long)
            mask[i, width - len(s) :] = 1
    return ids.to(device), mask.to(device)


def sequence_logprobs(
    model: Any,
    prompt_ids: Sequence[Sequence[int]],
    action_ids: Sequence[Sequence[int]],
    pad_token_id: int,
    *,
    entropies: list[torch.Tensor] | None = None,
) -> list[torch.Tensor]:
    """Teacher-forced ``log pi(action_t | prompt, action_<t)`` under the raw logits, one float32 tensor per pair.

    The pairs are left-padded into one batch; positions come from the attention mask, as in ``generate``,
    so a sequence's numbers do not depend on what it is batched with. Differentiable unless called under
    ``torch.no_grad()``. Pass a list as ``entropies`` to also receive, per pair, the entropy of the policy at
    each action position (for an entropy bonus), computed from the same logits.
    """
    if len(prompt_ids) != len(action_ids):
        raise ValueError(f"{len(prompt_ids)} prompts but {len(action_ids)} actions")
    if not prompt_ids:
        return []
    if any(len(p) == 0 for p in prompt_ids):
        raise ValueError("every prompt needs at least one token (the first action token is predicted from it)")
    device = next(model.parameters()).device
    full = [list(p) + list(a) for p, a in zip(prompt_ids, action_ids)]
    ids, mask = left_pad(full, pad_token_id, device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    # Actions are right-aligned, so the last `keep` columns hold every logit we need: asking the model for
    # those only saves a (batch x prompt x vocab) tensor, which for a real vocabulary is most of the memory.
    keep = max(len(a) for a in action_ids) + 1
    inner = model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model  # DDP: (*inputs)
    extra = {"logits_to_keep": keep} if "logits_to_keep" in inspect.signature(inner.forward).parameters else {}
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, **extra).logits
    width = logits.shape[1]
    out = []
    for i, a in enumerate(action_ids):
        n = len(a)
        if n == 0:
            out.append(torch.zeros(0, device=device))
            if entropies is not None:
                entropies.append(torch.zeros(0, device=device))
            continue
        # logits at column c predict the token at column c + 1; the action fills the last n columns
        step_logits = logits[i, width - n - 1 : width - 1].float()
        targets = ids[i, ids.shape[1] - n :]
        log_p = torch.log_softmax(step_logits, dim=-1)
        out.append(log_p.gather(-1, targets[:, None]).squeeze(-1))
        if entropies is not None:
            entropies.append(-(log_p.exp() * log_p).sum(-1))
    return out


class HFAgent:
    """Samples one action per conversation with a transformers causal LM, batched with left padding.

    ``temperature=0`` decodes greedily. ``seed`` makes sampling reproducible: call ``k`` of ``act`` draws
    from a generator seeded with ``(seed, k)``, so an agent built with the same seed produces the same
    actions for the same conversations (on the same device and batch size); ``act(..., seed=s)`` overrides
    it for one call. Sampling settings are given explicitly to ``generate``: a checkpoint's
    ``generation_config`` (repetition penalty, top-k ...) does not silently change the sampling policy.
    """

    name = "hf"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        top_p: float = 1.0,
        top_k: int = 0,
        seed: int | None = None,
        batch_size: int = 32,
        system_prompt: str | None = None,
        chat_template_kwargs: dict[str, Any] | None = None,
    ):
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        if temperature < 0 or not 0 < top_p <= 1:
            raise ValueError(f"need temperature >= 0 and 0 < top_p <= 1, got {temperature}, {top_p}")
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.top_k = int(top_k)
        self.seed = seed
        self.batch_size = max(1, int(batch_size))
        self.system_prompt = system_prompt
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        # Text from the env (which may echo the agent's own words) must not open or close turns: with
        # sanitize_control_tokens (transformers >= 5) a "<|im_end|>" inside a message is encoded as plain text.
        if "sanitize_control_tokens" in inspect.signature(tokenizer.apply_chat_template).parameters:
            self.chat_template_kwargs.setdefault("sanitize_control_tokens", True)
        self._calls = 0
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if pad is None:
            raise ValueError("the tokenizer has neither a pad nor an eos token")
        self.pad_token_id = int(pad)
        self.stop_token_ids = self._stop_ids()

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        attn_implementation: str | None = None,
        **kwargs: Any,
    ) -> HFAgent:
        """Load ``AutoModelForCausalLM`` and ``AutoTokenizer`` from ``path`` (a local directory or a hub id
        already in the local cache).

        ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...; by default CUDA when available. ``dtype``:
        ``"bfloat16"``, ``"float16"``, ``"float32"`` or a ``torch.dtype``; by default float32 (exact log-probs;
        ask for bfloat16 on a GPU for speed). Other keyword arguments go to :class:`HFAgent`.
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype)
        load: dict[str, Any] = {"dtype": dtype or torch.float32}
        if attn_implementation:
            load["attn_implementation"] = attn_implementation
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        tokenizer.padding_side = "left"
        model = AutoModelForCausalLM.from_pretrained(str(path), **load).to(device)
        return cls(model, tokenizer, **kwargs)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _stop_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        im_end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if im_end is not None and im_end != self.tokenizer.unk_token_id:
            ids.add(im_end)
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids.update(configured if isinstance(configured, (list, tuple)) else [configured])
        return sorted(int(i) for i in ids if i is not None)

    # ---- prompts ------------------------------------------------------------------------------

    def prompt_ids(self, conversation: Conversation) -> list[int]:
        """The chat-templated prompt for ``conversation``, ending with an opened assistant turn."""
        messages = list(conversation)
        if self.system_prompt and (not messages or messages[0].get("role") != "system"):
            messages = [{"role": "system", "content": self.system_prompt}, *messages]
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=False, **self.chat_template_kwargs
        )
        return [int(i) for i in ids]

    def count_tokens(self, conversation: Conversation) -> int:
        """Prompt length in tokens: pass as ``ContextPolicy(max_tokens=..., count_tokens=agent.count_tokens)``
        so that the rollout trims history before a prompt outgrows the model."""
        return len(self.prompt_ids(conversation))

    # ---- acting -------------------------------------------------------------------------------

    def act(
        self,
        conversations: Sequence[Conversation],
        *,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> list[AgentOutput]:
        """One :class:`AgentOutput` per conversation, in order; keyword arguments override the agent's
        settings for this call."""
        prompts = [self.prompt_ids(c) for c in conversations]
        if seed is None and self.seed is not None:
            seed = self.seed * 1_000_003 + self._calls
        self._calls += 1
        outputs: list[AgentOutput] = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = prompts[start : start + self.batch_size]
            # later chunks get seeds that no call's first chunk uses
            chunk_seed = seed if seed is None or start == 0 else (seed * 1_000_003 + start) % 2**63
            for prompt, (action, logps) in zip(
                chunk, self.generate(chunk, max_new_tokens, temperature, top_p, chunk_seed)
            ):
                text = self.tokenizer.decode(action, skip_special_tokens=True)
                outputs.append(AgentOutput(text, prompt, action, logps))
        return outputs

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> list[tuple[list[int], list[float]]]:
        """Sample a continuation of each prompt (token ids); return ``(action_ids, action_logprobs)`` pairs."""
        from transformers import GenerationConfig

        if not prompts:
            return []
        max_new = int(max_new_tokens or self.max_new_tokens)
        temperature = self.temperature if temperature is None else float(temperature)
        top_p = self.top_p if top_p is None else float(top_p)
        limit = getattr(self.model.config, "max_position_embeddings", None)
        longest = max(len(p) for p in prompts)
        if limit is not None and longest + max_new > limit:
            raise AgentError(
                f"a prompt of {longest} tokens plus max_new_tokens={max_new} exceeds the model's "
                f"{limit} positions; shorten the conversation or max_new_tokens"
            )
        sample = temperature > 0
        # Every knob that shapes the distribution is set explicitly: generate() fills the ones left None
        # from the checkpoint's generation_config (a Qwen checkpoint brings repetition_penalty=1.05, top_k=20).
        config = GenerationConfig(
            max_new_tokens=max_new,
            min_new_tokens=0,
            do_sample=sample,
            num_beams=1,
            temperature=temperature if sample else 1.0,
            top_p=top_p if sample else 1.0,
            top_k=self.top_k if sample else 0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            eos_token_id=self.stop_token_ids,
            pad_token_id=self.pad_token_id,
            return_dict_in_generate=True,
            output_logits=True,  # raw logits, before temperature / top-p: see the module docstring
        )
        ids, mask = left_pad(prompts, self.pad_token_id, self.device)
        devices = [self.device] if self.device.type == "cuda" else []
        with self._eval_mode(), torch.random.fork_rng(devices=devices, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            out = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
            generated = out.sequences[:, ids.shape[1] :]
            # one step at a time: a float32 (batch x steps x vocab) tensor would not fit for real vocabularies
            logps = [
                torch.log_softmax(step.float(), dim=-1).gather(-1, generated[:, t, None]).squeeze(-1)
                for t, step in enumerate(out.logits)
            ]
        logps = torch.stack(logps, dim=1) if logps else torch.zeros((len(prompts), 0))
        stops = set(self.stop_token_ids)
        results = []
        for row, row_logps in zip(generated.tolist(), logps.tolist()):
            end = next((t + 1 for t, tok in enumerate(row) if tok in stops), len(row))
            results.append((row[:end], row_logps[:end]))
        return results

    def logprobs(
        self, prompt_ids: Sequence[Sequence[int]], action_ids: Sequence[Sequence[int]]
    ) -> list[list[float]]:
        """Teacher-forced recomputation of ``action_logprobs`` (same definition, see the module docstring)."""
        out: list[list[float]] = []
        with self._eval_mode():
            for start in range(0, len(prompt_ids), self.batch_size):
                chunk = sequence_logprobs(
                    self.model,
                    prompt_ids[start : start + self.batch_size],
                    action_ids[start : start + self.batch_size],
                    self.pad_token_id,
                )
                out.extend(t.tolist() for t in chunk)
        return out

    @contextlib.contextmanager
    def _eval_mode(self):
        """No gradients, eval mode (no dropout), and the caller's mode back afterwards: a trainer shares its
        model with this agent and may hand it over in train mode."""
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.model.train(was_training)
