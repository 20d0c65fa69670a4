"""``generation_backend: vllm``: the trainer plays its episodes with a colocated vLLM engine that is re-synced
after every update. vLLM needs a CUDA GPU and the optional extra; where either is missing the end-to-end test
skips and says which, and what can be checked without them (the config, the error that names the extra, the
weights a sync sends) is checked here."""

from __future__ import annotations

import copy
import importlib.util

import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

from densegym.agents.vllm import policy_weights  # noqa: E402
from densegym.trainers.config import TrainerConfig  # noqa: E402
from densegym.trainers.trainer import Trainer  # noqa: E402

from tests.trainers.test_trainer import small_config  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def test_the_backend_is_hf_unless_asked_and_unknown_ones_are_refused():
    assert TrainerConfig().generation_backend == "hf"
    with pytest.raises(ValueError, match=r"generation_backend must be one of \('hf', 'vllm'\), got 'sglang'"):
        TrainerConfig(generation_backend="sglang")
    with pytest.raises(ValueError, match="generation_backend='vllm' needs a CUDA GPU"):
        TrainerConfig(generation_backend="vllm", device="cpu")
    config = TrainerConfig.from_yaml(None, ["generation_backend=vllm", "vllm_kwargs={enforce_eager: true}"])
    assert (config.generation_backend, config.vllm_kwargs) == ("vllm", {"enforce_eager": True})


def test_without_the_extra_the_trainer_names_it(tmp_path):
    if HAS_VLLM:
        pytest.skip("vllm is installed: the missing-extra message cannot be shown")
    with pytest.raises(ImportError, match=r"generation_backend='vllm' needs vLLM .*pip install 'densegym\[vllm\]'"):
        Trainer(small_config(tmp_path, generation_backend="vllm"))
    assert not (tmp_path / "run").exists()  # refused before anything was loaded or written


def test_a_sync_sends_every_weight_under_its_checkpoint_name():
    """What ``sync_weights`` hands to vLLM's ``load_weights``: the names a transformers checkpoint has, for a
    plain model and for a LoRA model (adapters merged in, peft's prefixes gone, the model unmerged after)."""
    from densegym.agents.vllm import _unmerge
    from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer

    model = build_tiny_model(build_tiny_tokenizer(), seed=0, num_hidden_layers=1)
    names = [n for n, _ in policy_weights(model)]
    assert names == list(model.state_dict())

    peft = pytest.importorskip("peft", reason="LoRA needs peft: pip install 'densegym[train]'")
    lora = peft.get_peft_model(model, peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():  # non-zero adapters, so that merging them changes the sent weights
        for n, p in lora.named_parameters():
            if "lora_B" in n:
                p.fill_(0.01)
    before = {n: p.detach().clone() for n, p in lora.named_parameters()}
    sent = {n: t.clone() for n, t in policy_weights(lora)}  # views of the live weights until unmerged
    _unmerge(lora)
    assert sorted(sent) == sorted(names)
    q = next(n for n in sent if n.endswith("self_attn.q_proj.weight"))
    base_q = next(p for n, p in lora.named_parameters() if n.endswith("q_proj.base_layer.weight"))
    assert not torch.equal(sent[q], base_q)  # the merged weight, not the bare base weight
    # unmerged again (merge then unmerge rounds: W + BA - BA is W to float32 precision)
    assert all(torch.allclose(before[n], p, rtol=0, atol=1e-6) for n, p in lora.named_parameters())


def cuda_available() -> bool:
    return torch.cuda.is_available()


@pytest.mark.skipif(not (HAS_VLLM and cuda_available()),
                    reason="generation_backend=vllm needs vLLM and a CUDA GPU (pip install 'densegym[vllm]'); this "
                           "machine has " + ("no CUDA GPU" if HAS_VLLM else "no vllm"))
def test_vllm_generation_follows_the_policy_after_each_update(tmp_path):
    """Two steps with vLLM playing: after the last update, the engine's log-probs of its own samples are those
    of the trained policy (recomputed by transformers), not of the initial weights."""
    config = small_config(tmp_path, generation_backend="vllm", device="cuda", estimator="turn", lr=5e-2, steps=2,
                          vllm_kwargs={"enforce_eager": True, "gpu_memory_utilization": 0.2})
    with Trainer(config) as trainer:
        initial = {k: v.detach().clone() for k, v in trainer.policy.state_dict().items()}
        history = trainer.train()
        assert all("time/sync_s" in m for m in history)
        assert any(not torch.equal(initial[k], v) for k, v in trainer.policy.state_dict().items())
        conv = [{"role": "user", "content": "Task letter-000001. Say anything; a reply with the letter u scores."}]
        out = trainer.agent.act([conv])[0]
        trained = trainer.hf_agent.logprobs([out.prompt_ids], [out.action_ids])[0]
        gaps = [abs(a - b) for a, b in zip(out.action_logprobs, trained)]
        assert max(gaps) < 1e-2
        from densegym.agents.hf import HFAgent

        stale_model = copy.deepcopy(trainer.policy)
        stale_model.load_state_dict(initial)
        stale = HFAgent(stale_model, trainer.tokenizer).logprobs([out.prompt_ids], [out.action_ids])[0]
        assert max(abs(a - b) for a, b in zip(out.action_logprobs, stale)) > max(gaps)  # not the initial policy
