"""``VLLMAgent``: offline batched generation with ``vllm.LLM`` (optional extra ``vllm``; needs a GPU).

Written against vLLM's documented offline API: ``LLM(model=..., ...)``, ``LLM.chat(messages_list,
sampling_params, use_tqdm=False)`` with one ``SamplingParams(n=1, temperature, top_p, max_tokens,
logprobs=0, seed)`` per conversation, and ``RequestOutput.prompt_token_ids`` /
``outputs[0].token_ids`` / ``outputs[0].logprobs`` (one ``{token_id: Logprob}`` dict per generated token).

Same contract as :class:`~densegym.agents.hf.HFAgent`: ``prompt_ids`` is the chat-templated prompt,
``action_ids`` the generated ids as vLLM returns them (the end-of-turn token included when generation
stopped on it), and ``action_logprobs`` the log-probability of each sampled token. ``logprobs=0`` asks for
the sampled token only; vLLM computes it from the raw logits (``logprobs_mode="raw_logprobs"``, its default),
i.e. the policy at temperature 1 before temperature and top-p: exactly what ``HFAgent.logprobs``
recomputes. Pass ``llm_kwargs={"logprobs_mode": "processed_logprobs"}`` to get the sampling distribution's
numbers instead.

Training (``TrainerConfig.generation_backend: vllm``): :meth:`VLLMAgent.sync_weights` loads the trainer's
current policy into the engine after every update, through vLLM's documented ``LLM.apply_model(func)`` (``func``
runs on the model inside each worker; vLLM's model classes take ``load_weights(iterable of (name, tensor))`` in
the transformers naming), then ``LLM.reset_prefix_cache()`` so that no KV block computed with the old weights is
reused. TRL's colocated GRPO does the same through the engine's driver worker. With the engine in this process
(``VLLM_ENABLE_V1_MULTIPROCESSING=0``, which the trainer sets) the tensors are handed over without a copy through
another process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from densegym.agents.base import AgentError, AgentOutput, Conversation


def policy_weights(model: Any) -> list[tuple[str, Any]]:
    """``(name, tensor)`` for every weight of ``model`` under the names of its transformers checkpoint (what
    ``load_weights`` of vLLM's model classes expects). A peft model's LoRA adapters are merged into the base
    weights first (call :func:`_unmerge` after use); unwrapping DDP is the caller's job."""
    if hasattr(model, "merge_adapter") and hasattr(model, "get_base_model"):  # peft
        model.merge_adapter()
        out = []
        for name, tensor in model.get_base_model().state_dict().items():
            if "lora_" in name or "original_module" in name:
                continue
            out.append((name.replace(".base_layer", "").replace("modules_to_save.default.", ""), tensor.detach()))
        return out
    return [(name, tensor.detach()) for name, tensor in model.state_dict().items()]


def _unmerge(model: Any) -> None:
    if hasattr(model, "unmerge_adapter") and hasattr(model, "get_base_model"):
        model.unmerge_adapter()


def _load_weights(model: Any, *, weights: list[tuple[str, Any]]) -> None:
    """Runs inside each vLLM worker (``LLM.apply_model``): vLLM's model class loads transformers-named weights,
    resharding them for tensor parallelism itself."""
    model.load_weights(iter(weights))


def _import_vllm():
    try:
        import vllm
    except ImportError as e:  # the optional extra is missing
        raise ImportError(
            "VLLMAgent needs vLLM and a CUDA GPU: pip install 'densegym[vllm]'"
        ) from e
    return vllm


class VLLMAgent:
    """Samples one action per conversation with ``vllm.LLM``; the whole batch goes to vLLM at once.

    ``model`` is a path or a model id vLLM can load (``llm`` may instead be an existing ``vllm.LLM``).
    ``seed``: request ``i`` of call ``k`` is sampled with a seed derived from ``(seed, k, i)``, so runs
    repeat while identical conversations in one batch (a GRPO group) stay independent.
    """

    name = "vllm"

    def __init__(
        self,
        model: str | None = None,
        *,
        llm: Any = None,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        system_prompt: str | None = None,
        chat_template_kwargs: dict[str, Any] | None = None,
        llm_kwargs: dict[str, Any] | None = None,
    ):
        self._vllm = _import_vllm()
        if llm is None:
            if model is None:
                raise ValueError("give a model (path or id) or an existing vllm.LLM as llm=")
            llm = self._vllm.LLM(
                model=model, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization, **(llm_kwargs or {})
            )
        self.llm = llm
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.seed = seed
        self.system_prompt = system_prompt
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self._calls = 0

    def sampling_params(self, seed: int | None = None) -> Any:
        return self._vllm.SamplingParams(
            n=1,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_new_tokens,
            logprobs=0,  # the sampled token's log-prob only
            seed=seed,
        )

    def _messages(self, conversation: Conversation) -> list[dict[str, str]]:
        messages = [{"role": m["role"], "content": m["content"]} for m in conversation]
        if self.system_prompt and (not messages or messages[0]["role"] != "system"):
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        return messages

    def act(self, conversations: Sequence[Conversation]) -> list[AgentOutput]:
        if not conversations:
            return []
        call = self._calls
        self._calls += 1
        params = [
            self.sampling_params(None if self.seed is None else (self.seed * 1_000_003 + call * 10_007 + i) % 2**31)
            for i in range(len(conversations))
        ]
        extra = {"chat_template_kwargs": self.chat_template_kwargs} if self.chat_template_kwargs else {}
        results = self.llm.chat(
            [self._messages(c) for c in conversations], params, use_tqdm=False, add_generation_prompt=True, **extra
        )
        return [self._to_output(r) for r in results]

    def sync_weights(self, model: Any) -> int:
        """Load ``model``'s current weights (a transformers causal LM of the architecture the engine serves, or a
        peft model, whose adapters are merged for the copy and unmerged after) into the engine; drop the prefix
        cache. Returns the number of tensors sent."""
        weights = policy_weights(model)
        try:
            self.llm.apply_model(functools.partial(_load_weights, weights=weights))
        finally:
            _unmerge(model)
        self.llm.reset_prefix_cache()
        return len(weights)

    @staticmethod
    def _to_output(result: Any) -> AgentOutput:
        completion = result.outputs[0]
        ids = [int(t) for t in completion.token_ids]
        logprobs = None
        if completion.logprobs is not None:
            if len(completion.logprobs) != len(ids):
                raise AgentError(f"vLLM returned {len(completion.logprobs)} log-probs for {len(ids)} tokens")
            logprobs = [float(step[t].logprob) for step, t in zip(completion.logprobs, ids)]
        prompt = [int(t) for t in result.prompt_token_ids] if result.prompt_token_ids is not None else None
        return AgentOutput(completion.text, prompt, ids, logprobs)
