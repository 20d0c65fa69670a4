"""The training loop end to end: real tiny transformers policy, real EnvPool workers, real envs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

from densegym.trainers.config import TrainerConfig  # noqa: E402
from densegym.trainers.trainer import Trainer  # noqa: E402

LETTER_ENV = "tests.trainers.envs:LetterEnv"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_config(tmp_path, **overrides) -> TrainerConfig:
    settings = dict(
        env=LETTER_ENV, steps=1, tasks_per_step=2, group_size=2, max_turns=2, max_new_tokens=4,
        model_config={"num_hidden_layers": 1}, output_dir=str(tmp_path / "run"), lr=1e-2, progress=False,
    )
    settings.update(overrides)
    return TrainerConfig(**settings)


def test_a_short_seeded_run_raises_the_mean_reward_far_outside_noise(tmp_path):
    """LetterEnv pays for replies with a 'u'. 64 held-out episodes (128 turns) before and after: the standard
    error of the mean hit rate is about 0.045, and the run must gain at least 0.2."""
    config = small_config(tmp_path, estimator="grpo", steps=10, tasks_per_step=4, group_size=4, eval_tasks=16,
                          eval_samples=4, log_rollouts=False)
    with Trainer(config) as trainer:
        before = trainer.evaluate()["outcome"]
        history = trainer.train()
        after = trainer.evaluate()["outcome"]
    assert after >= before + 0.2, (before, after)
    assert [m["step"] for m in history] == list(range(1, 11))
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(1, 11))
    assert len(list((tmp_path / "run" / "rollouts").glob("*.jsonl"))) == 0  # log_rollouts=False


@pytest.mark.parametrize("estimator", ["grpo", "rloo", "turn", "gigpo", "pure", "oprl", "igpo"])
def test_every_estimator_runs_an_update_that_changes_the_policy(tmp_path, estimator):
    extra = {"answer_key": "answer"} if estimator == "igpo" else {}
    config = small_config(tmp_path, estimator=estimator, tasks_per_step=2, group_size=4, **extra)
    with Trainer(config) as trainer:
        before = [p.detach().clone() for p in trainer.policy.parameters()]
        history = trainer.train()
        changed = any(not torch.equal(a, b) for a, b in zip(before, trainer.policy.parameters()))
    metrics = history[-1]
    assert all(math.isfinite(v) for v in metrics.values() if isinstance(v, float))
    assert metrics["trajectories"] == 8
    # an update can be exactly zero only if every advantage was zero; these seeds give non-zero ones
    assert changed
    if estimator == "oprl":
        assert "prm_pairs" in metrics
    if estimator == "igpo":
        rollout = (tmp_path / "run" / "rollouts" / "step-000001.jsonl").read_text().splitlines()
        assert rollout  # info gain was written into the turns used for the update; the JSONL has the raw ones


def test_resume_from_a_checkpoint_takes_the_same_next_step(tmp_path):
    """Two steps straight through, against one step, a checkpoint, a fresh Trainer resuming, one more step:
    the second step's loss and the final weights agree."""
    straight = small_config(tmp_path / "a", steps=2, estimator="turn")
    with Trainer(straight) as trainer:
        full = trainer.train()
        final = {k: v.clone() for k, v in trainer.policy.state_dict().items()}

    first = small_config(tmp_path / "b", steps=1, estimator="turn")
    with Trainer(first) as trainer:
        trainer.train()
    resumed_config = small_config(tmp_path / "b", steps=2, estimator="turn", resume=True)
    with Trainer(resumed_config) as trainer:
        assert trainer.step == 1
        resumed = trainer.train()
        weights = trainer.policy.state_dict()

    assert len(resumed) == 2  # the history comes back with the checkpoint
    for key in ("loss", "pg_loss", "reward", "grad_norm"):
        assert resumed[-1][key] == pytest.approx(full[-1][key], abs=1e-6), key
    for name, value in final.items():
        torch.testing.assert_close(weights[name], value, rtol=0, atol=1e-6)
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2]


def test_checkpoint_policy_loads_with_from_pretrained_and_plays(tmp_path):
    from densegym.agents.hf import HFAgent

    with Trainer(small_config(tmp_path)) as trainer:
        trainer.train()
        trained = trainer.policy.state_dict()
    policy_dir = tmp_path / "run" / "checkpoints" / "step-000001" / "policy"
    agent = HFAgent.from_pretrained(policy_dir, device="cpu", max_new_tokens=4)
    for name, value in agent.model.state_dict().items():
        torch.testing.assert_close(value, trained[name])
    assert agent.act([[{"role": "user", "content": "hello"}]])[0].action_ids


def test_warm_start_on_oracle_demonstrations_lowers_the_nll(tmp_path):
    config = small_config(
        tmp_path, env="densegym/Sokoban-small-v0", max_turns=4, max_new_tokens=8,
        sft={"episodes": 6, "epochs": 3, "lr": 3e-3, "batch_rows": 8},
    )
    with Trainer(config) as trainer:
        losses = trainer.warm_start()
    assert len(losses) == 3
    assert losses[-1] < losses[0] - 0.5


def test_the_prm_and_the_kl_reference_start_from_the_warm_started_policy(tmp_path):
    """OPRL's PRM and the KL reference are copies of the policy: of the policy after its warm start, so that the
    PRM's first step rewards are log(pi_phi / pi_old) = 0, not the gap between an untrained model and the SFT one."""
    config = small_config(
        tmp_path, env="densegym/Sokoban-small-v0", max_turns=4, max_new_tokens=8, estimator="oprl", kl_coef=0.1,
        sft={"episodes": 6, "epochs": 3, "lr": 3e-3, "batch_rows": 8}, tasks_per_step=2, group_size=2,
    )
    with Trainer(config) as trainer:
        untrained = {k: v.clone() for k, v in trainer.policy.state_dict().items()}
        trainer.warm_start()
        policy = trainer.policy.state_dict()
        assert any(not torch.equal(untrained[k], v) for k, v in policy.items())  # the warm start changed it
        for copy in (trainer.prm.model, trainer.ref_model):
            for name, value in copy.state_dict().items():
                torch.testing.assert_close(value, policy[name])
        metrics = trainer.train_step()
    assert abs(metrics["components/prm"]) < 1e-3, metrics["components/prm"]  # pre-update scores: q = 0


def test_micro_batches_add_up_to_the_full_batch_loss_and_gradient(tmp_path):
    """Gradient accumulation is exact: one row per micro-batch gives the gradient of the whole batch."""
    grads = {}
    for rows in (1, 64):
        for agg in ("token-mean", "seq-mean-token-mean"):
            config = small_config(tmp_path / f"{rows}-{agg}", micro_batch_rows=rows, loss_agg=agg, max_grad_norm=1e9,
                                  lr=1e-9, env_kwargs={"turns": None}, max_turns=3, tasks_per_step=4, group_size=4,
                                  max_new_tokens=8, estimator="turn")
            with Trainer(config) as trainer:
                captured = {}
                original = trainer.optimizer.step

                def capture(*args, _orig=original, _captured=captured, _model=trainer.policy, **kwargs):
                    _captured.update({n: p.grad.clone() for n, p in _model.named_parameters() if p.grad is not None})
                    return _orig(*args, **kwargs)

                trainer.optimizer.step = capture
                trainer.train()
            grads[rows, agg] = captured
    for agg in ("token-mean", "seq-mean-token-mean"):
        one, many = grads[1, agg], grads[64, agg]
        assert one.keys() == many.keys() and one
        assert any(g.abs().sum() > 0 for g in one.values())  # some advantage was non-zero
        for name in one:
            torch.testing.assert_close(one[name], many[name], rtol=1e-4, atol=1e-7)
    differs = any(not torch.allclose(grads[64, "token-mean"][n], grads[64, "seq-mean-token-mean"][n])
                  for n in grads[64, "token-mean"])
    assert differs  # the two aggregations are really different losses


def test_config_yaml_overrides_and_clear_errors(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("env: densegym/Sokoban-small-v0\nestimator: turn\nsteps: 3\nestimator_config:\n  reward: reward\n")
    config = TrainerConfig.from_yaml(path, ["lr=3e-4", "estimator_config.outcome_reward_scale=1.0", "lora={r: 4}"])
    assert (config.estimator, config.steps, config.lr, config.lora) == ("turn", 3, 3e-4, {"r": 4})
    assert config.estimator_settings().outcome_reward_scale == 1.0
    config.to_yaml(tmp_path / "round.yaml")
    assert TrainerConfig.from_yaml(tmp_path / "round.yaml") == config
    with pytest.raises(ValueError, match="unknown config keys.*'stpes'"):
        TrainerConfig.from_yaml(None, ["stpes=3"])
    with pytest.raises(ValueError, match="estimator 'ppo' is unknown; known: gigpo, grpo, igpo"):
        TrainerConfig(estimator="ppo")
    with pytest.raises(ValueError, match="estimator_config for grpo: unknown"):
        TrainerConfig(estimator="grpo", estimator_config={"omega": 1})
    with pytest.raises(ValueError, match="write key=value"):
        TrainerConfig.from_yaml(None, ["lr"])
    with pytest.raises(ValueError, match="last_k:K"):
        TrainerConfig(context="last_k")
    with pytest.raises(ValueError, match="transform"):
        TrainerConfig(transforms=[{"name": "nope"}])


def test_reward_weights_name_unknown_components_clearly(tmp_path):
    config = small_config(tmp_path, reward_weights={"progress": 1.0})
    with pytest.raises(ValueError, match=r"components are \['hit', 'outcome'\]"):
        Trainer(config)  # when the env workers are up: before the warm start and any rollout


def test_gated_transform_and_kl_and_entropy_run_together(tmp_path):
    config = small_config(
        tmp_path, estimator="turn", estimator_config={"reward": "gated"},
        transforms=[{"name": "gated", "channels": ["outcome", "hit"], "thresholds": [0.5]}],
        kl_coef=0.1, entropy_coef=0.01, mini_batches=2, ppo_epochs=2,
    )
    with Trainer(config) as trainer:
        metrics = trainer.train()[-1]
    assert "kl" in metrics and "entropy" in metrics
    assert np.isfinite(metrics["kl"]) and metrics["entropy"] > 0


def test_lora_trains_only_the_adapter(tmp_path):
    pytest.importorskip("peft", reason="LoRA needs peft: pip install 'densegym[train]'")
    config = small_config(tmp_path, estimator="turn", tasks_per_step=2, group_size=4,
                          lora={"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]})
    with Trainer(config) as trainer:
        before = {n: p.detach().clone() for n, p in trainer.policy.named_parameters()}
        trainer.train()
        after = dict(trainer.policy.named_parameters())
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    assert changed and all("lora_" in n for n in changed)
    adapter = tmp_path / "run" / "checkpoints" / "step-000001" / "policy" / "adapter_config.json"
    assert json.loads(adapter.read_text())["r"] == 4


def test_vpr_candidates_commit_the_best_and_form_state_groups(tmp_path):
    """K=3 actions per turn scored from snapshots: the committed one is a best one, the others come back as
    one-turn trajectories of the same state group, and the turn estimator learns from their differences."""
    from densegym.trajectory import read_jsonl

    config = small_config(tmp_path, estimator="turn", candidates=3, tasks_per_step=2, group_size=2, max_new_tokens=6)
    with Trainer(config) as trainer:
        before = [p.detach().clone() for p in trainer.policy.parameters()]
        metrics = trainer.train()[-1]
        changed = any(not torch.equal(a, b) for a, b in zip(before, trainer.policy.parameters()))
    trajectories = list(read_jsonl(tmp_path / "run" / "rollouts" / "step-000001.jsonl"))
    turns = [turn for traj in trajectories for turn in traj.turns]
    assert len(trajectories) == 4 and len(turns) == 8
    labels = set()
    for traj in trajectories:
        for turn in traj.turns:
            others = turn.info["candidates"]
            assert len(others) == 2 and all(c["action_ids"] for c in others)
            assert turn.reward >= max(c["reward"] for c in others)  # commit the best
            assert turn.components["hit"] == float("u" in turn.action)
            labels.add((traj.group_id, turn.info["state_group"]))
    assert len(labels) == 8  # one state group per committed turn
    assert metrics["candidate_turns"] == 16
    assert changed


def test_candidates_need_the_turn_estimator():
    with pytest.raises(ValueError, match="estimator 'turn' only"):
        TrainerConfig(estimator="grpo", candidates=4)


def test_rollout_logprobs_as_old_policy_match_the_recomputed_ones(tmp_path):
    """With one update pass the old policy is the sampler: its own log-probs and a teacher-forced recomputation
    give the same loss (to float error between generate's cached pass and a full forward)."""
    losses = {}
    for mode in ("recompute", "rollout"):
        with Trainer(small_config(tmp_path / mode, estimator="turn", old_logprobs=mode)) as trainer:
            losses[mode] = trainer.train()[-1]["loss"]
    assert losses["rollout"] == pytest.approx(losses["recompute"], abs=1e-4)


def test_async_rollout_trains_and_is_off_by_default(tmp_path, monkeypatch):
    """``async_rollout`` reaches collect (lockstep by default, for exact reproducibility and resume)."""
    import densegym.trainers.trainer as trainer_module

    seen = []
    real = trainer_module.collect

    def spy(*args, **kwargs):
        seen.append((kwargs.get("asynchronous"), kwargs.get("max_batch"), kwargs.get("max_wait_ms")))
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "collect", spy)
    with Trainer(small_config(tmp_path / "a")) as trainer:
        trainer.train()
    with Trainer(small_config(tmp_path / "b", async_rollout=True, rollout_max_batch=2, rollout_max_wait_ms=5)) as trainer:
        history = trainer.train()
    assert seen == [(False, None, 20.0), (True, 2, 5.0)]
    assert history[-1]["trajectories"] == 4
    with pytest.raises(ValueError, match="rollout_max_batch"):
        small_config(tmp_path, rollout_max_batch=0)
