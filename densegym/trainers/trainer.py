"""``Trainer``: the one RL loop every estimator shares (docs/architecture.md, "Trainers").

    collect groups (densegym.rollout)  ->  re-weight rewards, trajectory transforms, what the estimator needs
    (its providers: info gain, implicit PRM rewards, state-group candidates)  ->  estimator: per-turn
    advantages  ->  per-step rows  ->  clipped policy loss, masked to the action tokens  ->  optimizer step  ->
    log  ->  checkpoint

The loop never asks which estimator it runs: the estimator's spec (densegym.trainers.estimators.registry)
declares what it needs beyond the batch, and one provider per need (densegym.trainers.providers) supplies it.

    from densegym.trainers import Trainer, TrainerConfig
    trainer = Trainer(TrainerConfig(env="densegym/Sokoban-small-v0", estimator="turn", steps=50))
    trainer.train()

Determinism: step k samples its tasks and its actions from generators seeded by ``(seed, rank, k)``, and the old
log-probs are recomputed from the weights, so a run resumed from a checkpoint takes the same next step as the
run that was never interrupted (the checkpoint holds the policy, the optimizer, the PRM, the RNG states and the
step).
"""

from __future__ import annotations

import copy
import importlib.util
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from densegym.agents.context import ContextPolicy
from densegym.agents.hf import HFAgent
from densegym.envpool import EnvPool
from densegym.rewards.transforms import apply_transform
from densegym.rollout import collect
from densegym.trainers.batch import row_advantages, select_turns, turn_rows
from densegym.trainers.checkpoint import latest_checkpoint, load_checkpoint, load_latest_checkpoint, save_checkpoint
from densegym.trainers.config import RESUME_KEYS, TrainerConfig
from densegym.trainers.distributed import Runtime
from densegym.trainers.estimators import get_spec
from densegym.trainers.metrics_log import MetricsLog
from densegym.trainers.progress import Progress
from densegym.trainers.providers import build_providers
from densegym.trainers.reward_checks import warn_farmable
from densegym.trainers.update import policy_update, rows_logprobs
from densegym.trajectory import Trajectory, TrajectoryWriter


def load_policy(config: TrainerConfig, device: torch.device) -> tuple[Any, Any]:
    """The policy model and tokenizer that ``config.model`` names (see :class:`TrainerConfig`)."""
    if config.model == "tiny":
        from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer

        tokenizer = build_tiny_tokenizer()
        model = build_tiny_model(tokenizer, seed=config.seed, **config.model_config)
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if config.model_config:
            raise ValueError("model_config only applies to model='tiny'; a checkpoint brings its own config")
        try:
            tokenizer = AutoTokenizer.from_pretrained(config.model)
            model = AutoModelForCausalLM.from_pretrained(config.model, dtype=getattr(torch, config.dtype))
        except OSError as exc:  # not a directory, and not in the local hub cache
            reason = " ".join(str(exc).split())
            raise OSError(
                f"model {config.model!r} cannot be loaded: it is not a local model directory, and as a hub id it is "
                f"neither in the local Hugging Face cache nor downloadable from this machine. Pass a local "
                f"directory (a save_pretrained output), a hub id already in the cache (fetch it where there is "
                f"network: huggingface-cli download ID), or model=tiny. Reason: {reason}"
            ) from exc
        tokenizer.padding_side = "left"
    model = model.to(device=device, dtype=getattr(torch, config.dtype))
    if config.lora:
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as exc:
            raise ImportError("lora needs peft: pip install 'densegym[train]'") from exc
        model = get_peft_model(model, LoraConfig(**config.lora))
    return model, tokenizer


def env_source(config: TrainerConfig) -> tuple[Any, dict[str, Any] | None]:
    """What EnvPool needs for ``config.env`` (any env spec: an id, ``module:id``, ``module:Class``, a .py file;
    docs/cli.md): the id with its kwargs for densegym's ids, else a picklable factory that redoes the imports
    (and ``densegym train --import``) in each worker."""
    from densegym.envs.resolve import pool_source

    return pool_source(config.env, config.env_kwargs)


def check_reward_weights(hooks: dict[str, dict[str, Any]], reward_weights: dict[str, float] | None) -> None:
    """ValueError naming the env's components when ``reward_weights`` names one it does not have (``hooks`` as
    ``EnvPool.reward_hooks()`` gives them; an env without a reward set is not checked here)."""
    if not reward_weights or not hooks:
        return
    unknown = sorted(set(reward_weights) - set(hooks))
    if unknown:
        raise ValueError(f"reward_weights names {unknown}, which the env does not have; its reward components "
                         f"are {sorted(hooks)}")
    for name, weight in reward_weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValueError(f"reward_weights.{name} must be a number, got {weight!r}")


# what a densegym run writes into output_dir: only a directory of these (with its config.yaml) is cleared by
# overwrite=true; anything else in it is a reason to refuse
RUN_FILES = {"config.yaml", "metrics.jsonl", "curves.png"}
RUN_DIRS = {"rollouts": "step-", "checkpoints": "step-", "tensorboard": "events.out.tfevents."}


def _foreign_entries(out: Path) -> list[str]:
    """The entries of ``out`` that a densegym run does not write (symbolic links always count)."""
    foreign = []
    for entry in sorted(out.iterdir()):
        if entry.is_symlink():
            foreign.append(entry.name)
        elif entry.name in RUN_FILES:
            if not entry.is_file():
                foreign.append(entry.name)
        elif entry.name in RUN_DIRS and entry.is_dir():
            prefix = RUN_DIRS[entry.name]
            foreign += [f"{entry.name}/{e.name}" for e in sorted(entry.iterdir())
                        if e.is_symlink() or not e.name.startswith(prefix)]
        elif not (entry.name.startswith("vllm-init") and entry.is_dir()):
            foreign.append(entry.name)
    return foreign


def prepare_output_dir(config: TrainerConfig, notice: Any = print) -> None:
    """Apply the output_dir rules before anything is loaded: a file is an error; a non-empty directory is
    refused unless ``resume`` (then the config must not change a :data:`RESUME_KEYS` key of the run there) or
    ``overwrite`` (then it is cleared, only if it is recognisably a densegym run directory, listing what goes)."""
    out = Path(config.output_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output_dir {str(out)!r} is a file, not a directory: choose another output_dir")
    entries = sorted(out.iterdir()) if out.is_dir() else []
    names = ", ".join(e.name + ("/" if e.is_dir() else "") for e in entries[:8]) + (" ..." if len(entries) > 8 else "")
    if not entries:
        if config.resume:
            notice(f"resume: no run in {out} yet: starting from step 0")
        return
    if config.resume:
        if latest_checkpoint(out) is None:
            raise ValueError(f"resume=true: {out} holds no checkpoint to resume from ({names}); pass overwrite=true "
                             "(instead of resume) to start over there, or choose another output_dir")
        check_resumable(config, out)
        return
    if not config.overwrite:
        raise ValueError(f"output_dir {str(out)!r} is not empty ({names}): pass resume=true to continue the run in "
                         "it, or overwrite=true to replace it, or choose another output_dir")
    foreign = _foreign_entries(out)
    if foreign or not (out / "config.yaml").is_file():
        why = (f"it holds {', '.join(foreign[:8])}{' ...' if len(foreign) > 8 else ''}, which densegym did not write"
               if foreign else "it has no config.yaml")
        raise ValueError(f"overwrite=true: {out} is not a densegym run directory ({why}); nothing was removed: "
                         "choose another output_dir, or empty it yourself")
    for entry in entries:
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    notice(f"overwrite: removed {names} from {out}")


def check_resumable(config: TrainerConfig, out: Path) -> None:
    """ValueError naming every :data:`RESUME_KEYS` key on which ``config`` differs from the run in ``out``
    (its ``config.yaml``); a run without one is not checked."""
    import yaml

    saved_file = out / "config.yaml"
    if not saved_file.is_file():
        return
    try:
        saved = yaml.safe_load(saved_file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"resume=true: {saved_file} is not valid YAML ({exc}); cannot check what the checkpoint "
                         "means") from None
    current = yaml.safe_load(yaml.safe_dump(config.to_dict()))  # the same round trip as the saved file took
    changed = [f"{k}: {saved[k]!r} -> {current[k]!r}" for k in RESUME_KEYS if k in saved and saved[k] != current[k]]
    if changed:
        raise ValueError(
            f"resume=true: this config changes what the checkpoint in {out} means ({'; '.join(changed)}). Resume "
            f"with the run's own values (its config.yaml), or start a new run: another output_dir, or "
            f"overwrite=true. On resume only steps, the evaluation, logging and output settings may change."
        )


def reweight(batch: Sequence[Trajectory], weights: dict[str, float]) -> None:
    """``Turn.reward = sum_c w_c * components[c]`` for every turn (the components are unweighted)."""
    for traj in batch:
        for turn in traj.turns:
            missing = set(weights) - set(turn.components)
            if missing:
                raise ValueError(f"reward_weights name {sorted(missing)}; the env's components are {sorted(turn.components)}")
            turn.reward = float(sum(w * turn.components[name] for name, w in weights.items()))


def rollout_metrics(batch: Sequence[Trajectory]) -> dict[str, float]:
    """Success rate, mean outcome and return, mean sum of each reward component, turns and action tokens."""
    n = max(len(batch), 1)
    metrics = {
        "episodes": float(len(batch)),
        "success": sum(t.success for t in batch) / n,
        "outcome": sum(t.outcome for t in batch) / n,
        "reward": sum(t.total_reward for t in batch) / n,
        "turns": sum(len(t.turns) for t in batch) / n,
        "action_tokens": sum(len(turn.action_ids or ()) for t in batch for turn in t.turns) / n,
    }
    sums: dict[str, float] = {}
    for traj in batch:
        for k, v in traj.component_sums().items():
            sums[k] = sums.get(k, 0.0) + v
    metrics.update({f"components/{k}": v / n for k, v in sorted(sums.items())})
    return metrics


def added_component_metrics(batch: Sequence[Trajectory], metrics: dict[str, float]) -> dict[str, float]:
    """``components/<name>`` (mean sum per trajectory) of every component that is not in ``metrics`` yet: the
    ones the transforms (``gated``, ``min_form``, ``normalize``) and the estimator's providers wrote after the
    rollout, which the estimator may read."""
    n = max(len(batch), 1)
    sums: dict[str, float] = {}
    for traj in batch:
        for k, v in traj.component_sums().items():
            if f"components/{k}" not in metrics:
                sums[k] = sums.get(k, 0.0) + v
    return {f"components/{k}": v / n for k, v in sorted(sums.items())}


def advantage_metrics(batch: Sequence[Trajectory], rows: Sequence[Any], keep: Sequence[int],
                      advantages: Sequence[np.ndarray]) -> dict[str, float]:
    """The advantages the update trains on (one value per kept turn: its tokens' mean): ``adv/mean``, ``adv/std``,
    ``adv/abs_max``, and ``adv/zero_spread_groups``, the share of task groups in which every trained turn has
    advantage 0: its trajectories scored alike, so the group adds nothing to the loss (all of them: loss 0)."""
    kept = set(keep)
    values = np.array([float(np.mean(advantages[k])) if len(advantages[k]) else 0.0 for k in keep])
    groups: dict[Any, bool] = {}
    for k, row in enumerate(rows):
        group = batch[row.traj].group_id or f"trajectory-{row.traj}"
        flat = k not in kept or not np.any(np.asarray(advantages[k]) != 0)
        groups[group] = groups.get(group, True) and flat
    return {
        "adv/mean": float(values.mean()) if values.size else 0.0,
        "adv/std": float(values.std()) if values.size else 0.0,
        "adv/abs_max": float(np.abs(values).max()) if values.size else 0.0,
        "adv/zero_spread_groups": sum(groups.values()) / max(len(groups), 1),
    }


def _rollout_logprobs(turn: Any) -> torch.Tensor:
    """The sampler's own log-probs of a turn's action tokens (``old_logprobs: rollout``)."""
    if turn.action_logprobs is None or len(turn.action_logprobs) != len(turn.action_ids):
        raise ValueError("old_logprobs='rollout' needs the agent's log-prob of every action token; this agent "
                         "did not report them: use old_logprobs='recompute'")
    return torch.tensor(turn.action_logprobs, dtype=torch.float32)


class Trainer:
    """Trains ``config``'s policy on ``config.env`` with ``config.estimator``.

    ``model``/``tokenizer`` may be passed in (a user's own transformers model) instead of ``config.model``.
    Use as a context manager, or call :meth:`close`, to stop the env workers.
    """

    def __init__(self, config: TrainerConfig, *, model: Any = None, tokenizer: Any = None):
        self.config = config
        self.progress = Progress(config.progress)
        c = config
        self.progress.say(
            f"densegym train: {c.estimator} on {c.env}, model {c.model if model is None else type(model).__name__}; "
            f"{c.steps} step{'s' * (c.steps != 1)} x {c.tasks_per_step} tasks x {c.group_size} samples"
            f"{'; warm start ' + str((c.sft or {}).get('episodes', 64)) + ' demonstrations' if c.sft else ''}"
            f"{' (quick preset)' if c.quick else ''} -> {c.output_dir}"
        )
        if config.generation_backend == "vllm" and importlib.util.find_spec("vllm") is None:
            raise ImportError("generation_backend='vllm' needs vLLM and a CUDA GPU: pip install 'densegym[vllm]'")
        if (model is None) != (tokenizer is None):
            raise ValueError("pass both model and tokenizer, or neither")
        self.runtime = Runtime(config.device)
        self.output_dir = Path(config.output_dir)
        if self.runtime.is_main:  # before anything slow: a refused output_dir costs no model load
            prepare_output_dir(config, self.progress.notice)
        if model is None:
            with self.progress.phase(f"loading model {config.model}"):
                model, tokenizer = load_policy(config, self.runtime.device)
        self.tokenizer = tokenizer
        self.ref_model = None
        if config.kl_coef:
            self.ref_model = copy.deepcopy(model).eval().requires_grad_(False)
        optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay
        )
        self.model, self.optimizer = self.runtime.prepare(model, optimizer)
        self.hf_agent = HFAgent(
            self.policy, tokenizer, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
            top_p=config.top_p, seed=config.seed,
        )
        self.pad_token_id = self.hf_agent.pad_token_id
        # what plays the episodes: the policy itself, or a vLLM engine that is re-synced after every update
        self.agent = self.hf_agent if config.generation_backend == "hf" else self._vllm_agent()
        self.spec = get_spec(config.estimator)
        self.estimator = self.spec.fn
        self.estimator_config = config.estimator_settings()
        # one provider per need the estimator declares (the PRM, the belief probe, state-group candidates)
        self.providers = build_providers(self, self.spec.needs)
        self.prm = getattr(self.providers.get("prm"), "prm", None)  # a model with state: checkpointed
        self.candidates = max((p.candidates for p in self.providers.values()), default=1)
        if config.tasks_per_step % self.runtime.world_size:
            raise ValueError(
                f"tasks_per_step={config.tasks_per_step} must divide evenly over {self.runtime.world_size} processes"
            )
        self.tasks_per_rank = config.tasks_per_step // self.runtime.world_size
        self.context = ContextPolicy.from_spec(config.context)
        source, env_kwargs = env_source(config)
        num_envs = self.tasks_per_rank * config.group_size
        with self.progress.phase(f"starting {num_envs} envs in {config.num_workers} worker process"
                                 f"{'es' if config.num_workers > 1 else ''}"):
            self.pool = EnvPool(source, num_envs=num_envs, num_workers=config.num_workers, env_kwargs=env_kwargs)
        self.hf_agent.batch_size = self.pool.num_envs
        try:
            hooks = self.pool.reward_hooks()
            check_reward_weights(hooks, config.reward_weights)  # a typo fails now, not after a rollout
            # a farmable reward component summed by the estimator: say so once, before training on it
            self.farmable = warn_farmable(hooks, config.reward_weights, config.estimator, self.estimator_config)
        except BaseException:
            self.pool.close()
            raise
        self.step = 0
        self.history: list[dict[str, float]] = []
        resume_step = None
        if config.resume:
            try:  # the latest readable checkpoint (a corrupt one is skipped with a warning)
                found = load_latest_checkpoint(self.output_dir, model=self.policy, optimizer=self.optimizer,
                                               prm=self.prm)
                if found is not None:
                    self._restore(found[1])
            except BaseException:  # e.g. UnsafeCheckpointError: stop the env workers before raising
                self.pool.close()
                raise
            if found is not None:
                resume_step = self.step
                self.progress.notice(f"resuming from {found[0].name} ({found[0]})")
        self.log = None
        if self.runtime.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            config.to_yaml(self.output_dir / "config.yaml")
            self.log = MetricsLog(
                self.output_dir / "metrics.jsonl",
                tb_dir=self.output_dir / "tensorboard" if config.tensorboard else None,
                console=config.progress is not False,
                resume_step=resume_step,
            )

    def _vllm_agent(self) -> Any:
        """A :class:`~densegym.agents.vllm.VLLMAgent` in this process, on this rank's GPU, serving the policy's
        current weights: loaded from ``config.model`` when that is a checkpoint, else from a copy of the initial
        weights written to ``output_dir/vllm-init[-rankR]``."""
        import os

        from densegym.agents.vllm import VLLMAgent

        if self.runtime.device.type != "cuda":
            raise ValueError(f"generation_backend='vllm' needs a CUDA GPU; this process trains on {self.runtime.device}")
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # sync_weights hands tensors over in-process
        c = self.config
        path = c.model
        if c.model == "tiny" or c.lora or not Path(c.model).is_dir():
            path = self.output_dir / ("vllm-init" + (f"-rank{self.runtime.rank}" if self.runtime.rank else ""))
            path.mkdir(parents=True, exist_ok=True)
            base = self.policy.get_base_model() if c.lora else self.policy  # fresh LoRA adapters change nothing
            base.save_pretrained(path)
            self.tokenizer.save_pretrained(path)
        kwargs = {"gpu_memory_utilization": 0.3, **c.vllm_kwargs}
        return VLLMAgent(
            str(path), max_new_tokens=c.max_new_tokens, temperature=c.temperature, top_p=c.top_p, seed=c.seed,
            dtype=c.dtype, gpu_memory_utilization=float(kwargs.pop("gpu_memory_utilization")), llm_kwargs=kwargs,
        )

    def sync_generator(self) -> float:
        """Load the policy's current weights into the vLLM engine (no-op with the transformers backend);
        returns the seconds it took."""
        if self.agent is self.hf_agent:
            return 0.0
        t0 = time.perf_counter()
        self.agent.sync_weights(self.policy)
        return time.perf_counter() - t0

    @property
    def policy(self) -> Any:
        """The model itself (unwrapped from DDP): what generates and what is saved."""
        return self.runtime.unwrap(self.model)

    # ---- the loop -------------------------------------------------------------------------------

    def train(self) -> list[dict[str, float]]:
        """Run the remaining steps (all of them, or those after the checkpoint resumed from); return the
        metrics of each step run (on resume, the checkpoint's history first)."""
        if self.step and self.step >= self.config.steps:
            self.progress.notice(f"nothing to train: the checkpoint in {self.output_dir} is at step {self.step} "
                                 f"and steps={self.config.steps}; pass a larger steps to continue the run")
            self.write_curves()
            return self.history
        if self.config.sft and self.step == 0:
            self.warm_start()
        if self.config.eval_every and self.step == 0:
            self._log(0, {f"eval/{k}": v for k, v in self.evaluate().items()})
        while self.step < self.config.steps:
            metrics = self.train_step()
            if self.config.eval_every and self.step % self.config.eval_every == 0:
                metrics.update({f"eval/{k}": v for k, v in self.evaluate().items()})
            self._log(self.step, metrics)
            if self.config.save_every and self.step % self.config.save_every == 0:
                self.save()
        if not self.config.save_every or self.step % self.config.save_every:
            self.save()
        self.write_curves()
        return self.history

    def write_curves(self) -> Path | None:
        """``output_dir/curves.png``: the learning curves over the whole history (rank 0; skipped with a note
        when matplotlib is missing)."""
        if not self.runtime.is_main or not self.history:
            return None
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            self.progress.say("curves.png skipped: it needs matplotlib (pip install 'densegym[train]')")
            return None
        from densegym.trainers.demo import plot_curves

        evaluated = any("eval/success" in r for r in self.history)
        panels = (("success", "training success rate"), ("reward", "training return / episode"),
                  ("eval/success", "eval success rate") if evaluated else ("loss", "policy loss"))
        return plot_curves({self.config.estimator: self.history}, self.output_dir / "curves.png", panels=panels)

    def _log(self, step: int, metrics: dict[str, float]) -> None:
        # means over the ranks; trajectory and episode counts are totals over the ranks
        metrics = self.runtime.reduce_metrics(metrics, sums=("trajectories", "episodes", "eval/episodes"))
        self.history.append({"step": step, **metrics})
        if self.log is not None:
            self.log.log(step, metrics)

    def _step_seed(self, step: int) -> list[int]:
        return [self.config.seed, self.runtime.rank, step]

    def sample_tasks(self, step: int) -> list[int]:
        """This rank's task seeds for ``step``: drawn from the task pool, or fresh seeds every step. Every rank
        draws the same step-wide list (the generator does not depend on the rank) and plays its own slice."""
        rng = np.random.default_rng([self.config.seed, 0, step, 1])
        c = self.config
        if c.task_pool is not None:
            seeds = rng.choice(c.task_pool, size=c.tasks_per_step, replace=c.task_pool < c.tasks_per_step)
        else:
            seeds = np.arange(step * c.tasks_per_step, (step + 1) * c.tasks_per_step) + c.seed * 10_000_019
        return [int(s) for s in np.array_split(seeds, self.runtime.world_size)[self.runtime.rank]]

    def rollout(self, tasks: Sequence[int], *, seed: int, temperature: float | None = None,
                out: Path | None = None, group_size: int | None = None, candidates: int = 1) -> list[Trajectory]:
        """Play ``tasks`` with the current policy; the trajectories whose env or worker failed are dropped."""
        agent = self.agent
        agent.seed, agent._calls = seed, 0  # each call's sampling depends on (seed, turn) only: exact resume
        if temperature is not None:
            agent = copy.copy(self.agent)
            agent.temperature = temperature
        groups = collect(
            agent, self.pool, list(tasks), group_size=group_size or self.config.group_size,
            max_turns=self.config.max_turns, context=self.context, out=out, seed=seed,
            progress=self.progress.bars, env_id=self.config.env, candidates=candidates,
            asynchronous=self.config.async_rollout, max_batch=self.config.rollout_max_batch,
            max_wait_ms=self.config.rollout_max_wait_ms,
        )
        return [t for g in groups for t in g if t is not None and not t.meta.get("failed")]

    def train_step(self) -> dict[str, float]:
        """One iteration: rollout, rewards, advantages, update. Returns its metrics."""
        c = self.config
        step = self.step + 1
        seed = int(np.random.default_rng(self._step_seed(step)).integers(2**31))
        out = None
        if c.log_rollouts:  # every rank writes its own share: step-K.jsonl (rank 0), step-K.rankR.jsonl
            rank = f".rank{self.runtime.rank}" if self.runtime.rank else ""
            out = self.output_dir / "rollouts" / f"step-{step:06d}{rank}.jsonl"
            out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        tasks = self.sample_tasks(step)
        label = f"step {step}/{c.steps}"
        with self.progress.phase(f"{label}: collect {len(tasks) * c.group_size} episodes", drawn=True) as phase:
            batch = self.rollout(tasks, seed=seed, out=out, candidates=self.candidates)
            phase.note = f"success {sum(t.success for t in batch) / max(len(batch), 1):.2f}"
        t_rollout = time.perf_counter() - t0
        metrics = rollout_metrics(batch)
        for provider in self.providers.values():
            batch = provider.after_rollout(batch, metrics)
        rows = turn_rows(batch)
        t1 = time.perf_counter()
        with self.progress.phase(f"{label}: update on {len(rows)} turns", total=c.ppo_epochs * len(rows),
                                 unit="turn") as phase:
            if c.old_logprobs == "rollout":
                old = [_rollout_logprobs(batch[r.traj].turns[r.turn]) for r in rows]
            else:
                old = rows_logprobs(self.policy, rows, self.pad_token_id, c.micro_batch_rows)
            t_rewards = time.perf_counter()
            metrics.update(self.prepare_rewards(batch, rows, old))
            metrics.update(added_component_metrics(batch, metrics))  # gated, min_form ...: what the estimator read
            metrics["time/rewards_s"] = time.perf_counter() - t_rewards  # transforms, the probe, the PRM
            advantages, turn_masks = self.advantages(batch)
            keep = select_turns(rows, turn_masks)
            per_row = row_advantages(rows, advantages)
            metrics.update(advantage_metrics(batch, rows, keep, per_row))
            ref = rows_logprobs(self.ref_model, rows, self.pad_token_id, c.micro_batch_rows) if self.ref_model else None
            update_rng = np.random.default_rng(self._step_seed(step) + [2])
            metrics.update(
                policy_update(
                    self.model, self.optimizer, rows, keep, per_row, old,
                    pad_token_id=self.pad_token_id, config=c, rng=update_rng, ref_logprobs=ref,
                    no_sync=self.runtime.no_sync, backward=self.runtime.backward, clip_grad=self.runtime.clip_grad,
                    progress=phase.update,
                )
            )
            phase.note = f"loss {metrics.get('loss', 0.0):.3f}"
        t_update = time.perf_counter() - t1
        if c.generation_backend == "vllm":
            metrics["time/sync_s"] = self.sync_generator()
        tokens = sum(len(r.prompt_ids) + len(r.action_ids) for r in rows)
        metrics.update({
            "trajectories": float(len(batch)),
            "world_size": float(self.runtime.world_size),
            "time/rollout_s": t_rollout,
            "time/update_s": t_update,
            "throughput/rollout_action_tokens_per_s": sum(len(r.action_ids) for r in rows) / max(t_rollout, 1e-9),
            "throughput/update_tokens_per_s": tokens * c.ppo_epochs / max(t_update, 1e-9),
        })
        if self.runtime.world_size > 1 and self.runtime.replicated:
            # DDP keeps the replicas equal only if every rank applied the same averaged gradient: 0 when it did
            with torch.no_grad():
                checksum = float(sum(p.double().sum() for p in self.policy.parameters()))
            metrics["dist/weight_spread"] = self.runtime.spread(checksum)
        self.step = step
        return metrics

    # ---- rewards and advantages ----------------------------------------------------------------------

    def prepare_rewards(self, batch: list[Trajectory], rows: list, old: list[torch.Tensor]) -> dict[str, float]:
        """Everything that turns the env's components into the rewards the estimator reads, in order:
        ``reward_weights``, the configured transforms, then the providers of the estimator's needs (the belief
        probe's information gain, the implicit PRM's step rewards)."""
        c = self.config
        metrics: dict[str, float] = {}
        if c.reward_weights is not None:
            reweight(batch, c.reward_weights)
        for t in c.transforms:
            apply_transform(batch, t["name"], **{k: v for k, v in t.items() if k != "name"})
        for provider in self.providers.values():
            metrics.update(provider.rewards(batch, rows, old))
        return metrics

    def advantages(self, batch: list[Trajectory]) -> tuple[list[Any], list[np.ndarray] | None]:
        """Per-turn advantages, and the per-turn loss masks of an estimator that gives them (``turn``'s state
        groups)."""
        return self.spec.advantages(batch, self.estimator_config)

    # ---- warm start and evaluation ---------------------------------------------------------------------

    def warm_start(self) -> list[float]:
        """SFT on oracle demonstrations (``config.sft``: episodes, epochs, lr, batch_rows)."""
        from densegym.agents.scripted import OracleAgent
        from densegym.trainers.sft import demonstration_rows, supervised_finetune

        settings = {"episodes": 64, "epochs": 2, "lr": 1e-3, "batch_rows": 32, **(self.config.sft or {})}
        seeds = [self.config.seed * 7_919 + 500_000 + i for i in range(int(settings["episodes"]))]
        with self.progress.phase(f"warm start: {len(seeds)} oracle demonstrations", drawn=True):
            groups = collect(OracleAgent(), self.pool, seeds, group_size=1, max_turns=self.config.max_turns,
                             seed=self.config.seed, progress=self.progress.bars)
        demos = [t for g in groups for t in g if not t.meta.get("failed")]  # every oracle move is optimal
        rows = demonstration_rows(demos, self.hf_agent, self.context)
        epochs, batch_rows = int(settings["epochs"]), int(settings["batch_rows"])
        with self.progress.phase(f"warm start: SFT, {epochs} epoch{'s' * (epochs != 1)} over {len(rows)} turns",
                                 total=epochs * -(-len(rows) // batch_rows), unit="batch") as phase:
            losses = supervised_finetune(
                self.model, rows, pad_token_id=self.pad_token_id, epochs=epochs,
                lr=float(settings["lr"]), batch_rows=batch_rows, seed=self.config.seed,
                progress=lambda loss: phase.update(1, loss=loss),
            )
            phase.note = f"NLL {losses[0]:.3f} -> {losses[-1]:.3f}" if losses else ""
        # what starts as a copy of the policy starts from the warm-started one: a PRM copied from the untrained
        # model gives every token a large negative log-ratio, so shorter (malformed) actions score higher
        if self.ref_model is not None:
            self.ref_model.load_state_dict(self.policy.state_dict())
        if self.prm is not None:
            self.prm.model.load_state_dict(self.policy.state_dict())
        self.sync_generator()
        self._log(0, {"sft/loss_first_epoch": losses[0], "sft/loss_last_epoch": losses[-1],
                      "sft/demonstrations": float(len(demos)), "sft/rows": float(len(rows))})
        return losses

    def evaluate(self, tasks: int | None = None) -> dict[str, float]:
        """Play the ``eval_tasks`` seeds from ``eval_seed``, ``eval_samples`` times each, at
        ``eval_temperature``; rollout metrics (each rank plays its share)."""
        c = self.config
        seeds = np.array_split(np.arange(c.eval_seed, c.eval_seed + (tasks or c.eval_tasks)), self.runtime.world_size)
        with self.progress.phase(f"step {self.step}/{c.steps}: evaluation, {tasks or c.eval_tasks} tasks x "
                                 f"{c.eval_samples} samples", drawn=True) as phase:
            batch = self.rollout([int(s) for s in seeds[self.runtime.rank]], seed=c.eval_seed,
                                 temperature=c.eval_temperature, group_size=c.eval_samples)
            metrics = rollout_metrics(batch)
            phase.note = f"success {metrics['success']:.2f}"
        return metrics

    # ---- checkpoints -----------------------------------------------------------------------------

    def save(self) -> Path | None:
        """Write ``output_dir/checkpoints/step-K`` (rank 0): the policy for users (``policy/``, loadable with
        ``from_pretrained``) and the full resume state (``trainer_state.pt``: tensors; ``trainer_state.json``)."""
        path = None
        if self.runtime.is_main:
            path = save_checkpoint(
                self.output_dir / "checkpoints" / f"step-{self.step:06d}",
                step=self.step, model=self.policy, tokenizer=self.tokenizer, optimizer=self.optimizer,
                prm=self.prm, history=self.history,
            )
        self.runtime.barrier()
        return path

    def load(self, path: str | Path) -> None:
        self._restore(load_checkpoint(path, model=self.policy, optimizer=self.optimizer, prm=self.prm))

    def _restore(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.history = list(state.get("history", []))
        self.sync_generator()

    def close(self) -> None:
        self.pool.close()
        if self.log is not None:
            self.log.close()

    def __enter__(self) -> Trainer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
