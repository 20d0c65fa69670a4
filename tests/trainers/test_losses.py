"""The shared policy loss (docs/algorithms.md section 0.3) and the OPRL implicit-PRM pieces (section 1(e)1, 1(e)4),
with a tiny real Qwen2 model for the masking invariant and the DPO gradient step."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from densegym.trainers.estimators import oprl_pairs
from tests.helpers import require
from tests.trainers.helpers import traj

try:
    import torch

    from densegym.trainers.losses import (
        gather_logprobs,
        implicit_step_rewards,
        kl_k3,
        policy_loss,
        token_entropy,
        trajectory_dpo_loss,
        trajectory_scores,
        turn_values_to_tokens,
    )
except ImportError:  # without the [train] extra every test here skips (fails under CI=true)
    torch = None


@pytest.fixture(autouse=True)
def _needs_torch():
    require(torch is not None, "torch", 'pip install "densegym[train]"')


@pytest.fixture(scope="module")
def tiny():
    require(torch is not None, "torch", 'pip install "densegym[train]"')
    from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(
        tokenizer, seed=0, num_hidden_layers=2, hidden_size=32, intermediate_size=64,
        num_attention_heads=2, num_key_value_heads=1, attn_implementation="eager",
    )
    return model, tokenizer


def rollout_rows(tokenizer):
    """Two concatenated-layout rows [prompt, a_1, o_1, a_2] with the action mask and per-token turn ids."""
    rows, masks, turn_ids = [], [], []
    for prompt, a1, o1, a2 in [("You see a box.", "<action>up</action>", "The box moved.", "<action>left</action>"),
                               ("Push the box.", "<action>down</action>", "Wall.", "<action>right</action>")]:
        ids, mask, tid = [], [], []
        for k, (text, is_action) in enumerate([(prompt, 0), (a1, 1), (o1, 0), (a2, 1)]):
            piece = tokenizer(text, add_special_tokens=False)["input_ids"]
            ids += piece
            mask += [is_action] * len(piece)
            tid += [(k - 1) // 2 if is_action else -1] * len(piece)
        rows.append(ids)
        masks.append(mask)
        turn_ids.append(tid)
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    mask = torch.tensor([m + [0] * (width - len(m)) for m in masks])
    tids = torch.tensor([t + [-1] * (width - len(t)) for t in turn_ids])
    return ids, mask, tids


def sequence_logprobs(model, ids):
    """Log-probs of tokens 1.. under the model, aligned to positions 1.. (position 0 has none)."""
    logits = model(input_ids=ids).logits
    return logits, gather_logprobs(logits[:, :-1], ids[:, 1:])


# ---- the clipped loss, by hand ---------------------------------------------------------------------------


def test_asymmetric_clip_and_token_mean_by_hand():
    ratio = torch.tensor([[1.25, 1.3, 0.7, 0.9]])
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    old = torch.zeros(1, 4)
    mask = torch.ones(1, 4)
    loss, metrics = policy_loss(torch.log(ratio), old, adv, mask)
    # 1.25 inside (1 + 0.28); 1.3 clipped to 1.28; A < 0: 0.7 clipped to 0.8 -> max(0.7, 0.8) = 0.8 wins
    expected = np.mean([-1.25, -1.28, 0.8, 0.9])
    assert float(loss) == pytest.approx(expected, abs=1e-6)
    assert metrics["clipfrac"] == pytest.approx(0.5)
    symmetric, _ = policy_loss(torch.log(ratio), old, adv, mask, clip_high=0.2)
    assert float(symmetric) == pytest.approx(np.mean([-1.2, -1.2, 0.8, 0.9]), abs=1e-6)


def test_aggregations():
    logprobs = torch.zeros(2, 3)
    adv = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    token, _ = policy_loss(logprobs, logprobs, adv, mask, agg="token-mean")
    seq, _ = policy_loss(logprobs, logprobs, adv, mask, agg="seq-mean-token-mean")
    assert float(token) == pytest.approx(-(1 + 2 + 3 + 4) / 4)
    assert float(seq) == pytest.approx(-((1 + 2 + 3) / 3 + 4) / 2)
    empty_row = torch.tensor([[1, 1, 1], [0, 0, 0]])
    seq_empty, _ = policy_loss(logprobs, logprobs, adv, empty_row, agg="seq-mean-token-mean")
    assert float(seq_empty) == pytest.approx(-2.0)  # the row without action tokens does not count
    with pytest.raises(ValueError, match="aggregation"):
        policy_loss(logprobs, logprobs, adv, mask, agg="sum")


def test_k3_kl_and_entropy_bonus():
    logprobs = torch.log(torch.tensor([[0.5, 0.2]]))
    ref = torch.log(torch.tensor([[0.25, 0.2]]))
    kl = kl_k3(logprobs, ref)
    assert float(kl[0, 0]) == pytest.approx(0.5 - math.log(0.5) - 1)
    assert float(kl[0, 1]) == 0.0
    assert float(kl_k3(torch.tensor([0.0]), torch.tensor([30.0]))) == 10.0  # clamped as in verl
    mask = torch.ones(1, 2)
    zero_adv = torch.zeros(1, 2)
    loss, metrics = policy_loss(logprobs, logprobs, zero_adv, mask, ref_logprobs=ref, kl_coef=0.1)
    assert float(loss) == pytest.approx(0.1 * float(kl.mean()))
    entropy = torch.tensor([[1.0, 3.0]])
    loss, metrics = policy_loss(logprobs, logprobs, zero_adv, mask, entropy=entropy, entropy_coef=0.01)
    assert float(loss) == pytest.approx(-0.02) and metrics["entropy"] == pytest.approx(2.0)
    logits = torch.zeros(1, 1, 8)
    assert float(token_entropy(logits)) == pytest.approx(math.log(8))


def test_masked_positions_cannot_change_the_loss_or_get_gradient():
    """Section 0.3: perturbing (even to inf/nan) observation-token inputs leaves L unchanged; zero gradient."""
    gen = torch.Generator().manual_seed(0)
    logprobs = (-torch.rand(3, 6, generator=gen)).requires_grad_()
    old = -torch.rand(3, 6, generator=gen)
    ref = -torch.rand(3, 6, generator=gen)
    adv = torch.randn(3, 6, generator=gen)
    entropy = torch.rand(3, 6, generator=gen).requires_grad_()
    mask = torch.tensor([[0, 1, 1, 0, 1, 0], [1, 0, 0, 1, 1, 1], [0, 0, 1, 0, 0, 0]])
    options = dict(ref_logprobs=ref, kl_coef=0.05, entropy=entropy, entropy_coef=0.01)
    for agg in ("token-mean", "seq-mean-token-mean"):
        loss, _ = policy_loss(logprobs, old, adv, mask, agg=agg, **options)
        loss.backward()
        masked = mask == 0
        assert torch.all(logprobs.grad[masked] == 0) and torch.all(entropy.grad[masked] == 0)
        assert torch.any(logprobs.grad[~masked] != 0)
        logprobs.grad = entropy.grad = None
        garbage = torch.where(masked, torch.tensor(float("nan")), torch.zeros(()))
        perturbed = dict(ref_logprobs=ref + garbage, kl_coef=0.05, entropy=entropy.detach() + garbage,
                         entropy_coef=0.01)
        other, _ = policy_loss(logprobs.detach() + torch.where(masked, torch.tensor(-float("inf")), torch.zeros(())),
                               old + garbage, adv + garbage, mask, agg=agg, **perturbed)
        assert float(other) == float(loss.detach())


# ---- the masking invariant on a real model -------------------------------------------------------------


def test_real_model_gradients_at_observation_logits_are_exactly_zero(tiny):
    model, tokenizer = tiny
    ids, mask, _ = rollout_rows(tokenizer)
    model.zero_grad()
    logits = model(input_ids=ids).logits
    logits.retain_grad()
    logprobs = gather_logprobs(logits[:, :-1], ids[:, 1:])
    m = mask[:, 1:]
    adv = torch.where(m.bool(), torch.linspace(-1, 1, m.shape[1]).expand_as(m), torch.zeros(()))
    loss, _ = policy_loss(logprobs, logprobs.detach() - 0.05, adv, m, ref_logprobs=logprobs.detach() + 0.1,
                          kl_coef=0.01, entropy=token_entropy(logits[:, :-1]), entropy_coef=0.01)
    loss.backward()
    grad = logits.grad[:, :-1]  # logits at p predict token p + 1, whose mask is m[:, p]
    assert torch.all(grad[m == 0] == 0)
    assert torch.all(logits.grad[:, -1] == 0)
    assert grad[m == 1].abs().sum() > 0


def test_real_model_loss_ignores_observation_tokens_when_action_logprobs_are_fixed(tiny):
    model, tokenizer = tiny
    ids, mask, _ = rollout_rows(tokenizer)
    m = mask[:, 1:]
    with torch.no_grad():
        _, logprobs = sequence_logprobs(model, ids)
        changed = ids.clone()
        obs = (mask == 0) & (torch.arange(ids.shape[1]) > 0)
        changed[obs] = (changed[obs] * 7 + 3) % len(tokenizer)  # other observation tokens
        _, changed_logprobs = sequence_logprobs(model, changed)
    assert not torch.allclose(logprobs[m == 0], changed_logprobs[m == 0])
    kept = torch.where(m.bool(), logprobs, changed_logprobs)  # the action log-probs held fixed
    old = logprobs - 0.1
    adv = torch.ones_like(logprobs)
    a, _ = policy_loss(logprobs, old, adv, m, agg="seq-mean-token-mean")
    b, _ = policy_loss(kept, old, adv, m, agg="seq-mean-token-mean")
    assert float(a) == float(b)


# ---- OPRL implicit PRM -----------------------------------------------------------------------------------


def test_implicit_step_rewards_sum_each_turns_tokens():
    prm = torch.tensor([[-1.0, -0.5, -0.2, -0.1, -0.3]])
    ref = torch.tensor([[-1.0, -0.7, -0.2, -0.4, -0.3]])
    turn_ids = torch.tensor([[-1, 0, -1, 1, 1]])
    q = implicit_step_rewards(prm, ref, turn_ids, num_turns=3, beta=0.5)
    np.testing.assert_allclose(q.numpy(), [[0.5 * 0.2, 0.5 * 0.3, 0.0]], atol=1e-7)
    assert float(q.sum()) == pytest.approx(0.5 * float(((prm - ref) * (turn_ids >= 0)).sum()))  # telescoping


def test_dpo_loss_is_log2_at_init_and_a_step_separates_successes(tiny):
    """Section 1(e)1 and 1(e)4 with the tiny model as PRM and its copy as pi_old."""
    model, tokenizer = tiny
    ids, mask, turn_ids = rollout_rows(tokenizer)
    prm = copy.deepcopy(model).train()
    old = model
    batch = [traj("g", [0.0, 0.0], outcome=1.0), traj("g", [0.0, 0.0], outcome=0.0)]
    pairs = oprl_pairs(batch)
    turn_mask = torch.ones(2, 2)

    def scores():
        _, prm_lp = sequence_logprobs(prm, ids)
        with torch.no_grad():
            _, old_lp = sequence_logprobs(old, ids)
        return implicit_step_rewards(prm_lp, old_lp, turn_ids[:, 1:], num_turns=2, beta=0.05)

    q = scores()
    assert torch.all(q == 0)
    loss, metrics = trajectory_dpo_loss(q, turn_mask, pairs)
    assert float(loss.detach()) == pytest.approx(math.log(2), abs=1e-6) and metrics["pairs"] == 1
    optimizer = torch.optim.SGD(prm.parameters(), lr=1.0)
    loss.backward()
    optimizer.step()
    q_after = trajectory_scores(scores(), turn_mask).detach()
    assert float(q_after[0] - q_after[1]) > 0


def test_dpo_loss_without_pairs_and_score_aggregations():
    q = torch.tensor([[0.2, 0.4, 9.0], [0.1, 0.0, 0.0]], requires_grad=True)
    turn_mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(trajectory_scores(q, turn_mask, "mean").detach().numpy(), [0.3, 0.1], atol=1e-7)
    np.testing.assert_allclose(trajectory_scores(q, turn_mask, "sum").detach().numpy(), [0.6, 0.1], atol=1e-7)
    loss, metrics = trajectory_dpo_loss(q, turn_mask, [])
    assert float(loss.detach()) == 0.0 and metrics["pairs"] == 0
    loss, _ = trajectory_dpo_loss(q, turn_mask, [(0, 1)], traj_score_agg="sum")
    assert float(loss.detach()) == pytest.approx(-math.log(1 / (1 + math.exp(-0.5))), abs=1e-6)


def test_turn_values_to_tokens_follows_the_turn_ids():
    turn_ids = torch.tensor([[-1, 0, 0, -1, 1, -1], [-1, -1, 0, -1, -1, -1]])
    out = turn_values_to_tokens([np.array([0.5, -1.0]), [2.0]], turn_ids)
    np.testing.assert_allclose(out.numpy(), [[0, 0.5, 0.5, 0, -1.0, 0], [0, 0, 2.0, 0, 0, 0]])
