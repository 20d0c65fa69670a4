"""``TrainerConfig``: everything one training run needs, read from YAML with command-line overrides.

    config = TrainerConfig.from_yaml("configs/sokoban_turn.yaml", overrides=["lr=3e-4", "estimator=grpo"])

An override is ``key=value`` with the value parsed as YAML (``steps=20``, ``lora={r: 8}``,
``reward_weights={progress: 1, outcome: 1}``); a dotted key reaches into a dict field
(``estimator_config.outcome_reward_scale=1``). Unknown keys are errors that list the known ones, so that a
typo never trains with a default silently.
"""

from __future__ import annotations

import dataclasses
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from densegym.rewards.transforms import TRANSFORM_CONFIGS
from densegym.trainers.estimators import get_spec

AGGREGATIONS = ("token-mean", "seq-mean-token-mean")  # densegym.trainers.losses, which imports torch
GENERATION_BACKENDS = ("hf", "vllm")

# the enum-like settings of the trajectory transforms (densegym.rewards.transforms checks them only when a
# transform runs, after the rollout): refused here, when the config is built
TRANSFORM_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "gated": {"gate_op": ("ge", "gt")},
    "normalize": {"scope": ("batch_max_abs", "group_zscore")},
}


@dataclass
class TrainerConfig:
    """One RL run: env, policy, rollout, advantage estimator, update, bookkeeping.

    The env:
        env: a registered id (``densegym/Sokoban-small-v0``) or ``"package.module:EnvClass"``.
        env_kwargs: keyword arguments for the env.
        reward_weights: re-weight every ``Turn.reward`` from its unweighted components after the rollout
            (``{"outcome": 1.0}`` is outcome-only); ``None`` keeps the env's own weights.

    The policy:
        model: ``"tiny"`` (a small Qwen2 built from a config with the offline tokenizer,
            :mod:`densegym.models.tiny`) or a local directory / hub id already in the local cache.
        model_config: overrides of the tiny model's config (``num_hidden_layers``, ``hidden_size`` ...).
        device: ``"auto"`` (CUDA when there is one), ``"cpu"``, ``"cuda"``. dtype: ``float32`` / ``bfloat16``.
        lora: ``peft.LoraConfig`` arguments (``{r: 8, lora_alpha: 16, target_modules: [q_proj, v_proj]}``);
            ``None`` trains every weight.
        generation_backend: ``"hf"`` (transformers ``generate`` on the policy itself) or ``"vllm"`` (a colocated
            ``vllm.LLM`` on the GPU, optional extra ``vllm``, loaded from the same weights and re-synced after
            every update: :meth:`densegym.agents.vllm.VLLMAgent.sync_weights`). vllm_kwargs: extra ``vllm.LLM``
            arguments (default ``{gpu_memory_utilization: 0.3}``, leaving the rest of the GPU to training).

    Rollout (:func:`densegym.rollout.collect`):
        steps: training iterations; each collects ``tasks_per_step`` tasks x ``group_size`` trajectories.
        task_pool: draw the tasks from seeds ``0 .. task_pool-1``; ``None`` plays fresh seeds every step.
        max_turns, context (``full`` / ``current`` / ``last_k:K``), temperature, top_p, max_new_tokens.
        num_workers: EnvPool worker processes. candidates: VPR's K candidate actions per turn, scored from the
            same state through the env's snapshots, the best committed (an estimator that needs ``candidates``:
            ``turn``).
        async_rollout: ``False`` (default): every turn, the policy generates for all episodes in flight at once
            (lockstep), so a seeded run, and its resume, reproduce exactly. ``True``: envs step independently and
            the policy generates for whichever are ready (at most ``rollout_max_batch``, waiting at most
            ``rollout_max_wait_ms`` for more), so that a slow step (a test run, a page load) never stalls the
            others; which episodes share a generation batch then depends on timing, and so do the samples.

    Advantages:
        estimator: a name of :data:`densegym.trainers.estimators.ESTIMATORS` (the built-ins and every one added
            with :func:`~densegym.trainers.estimators.register_estimator`); estimator_config: its config fields
            (defaults from docs/algorithms.md). What the estimator needs beyond the batch (the PRM, the belief probe,
            state-group candidates) it declares, and the trainer provides. transforms: trajectory transforms
            applied first, in order: ``{"name": "gated", "channels": [outcome, progress], "thresholds": [1.0]}``,
            ``min_form``, ``normalize``. Every estimator and transform setting is checked when the config is
            built: unknown keys and values outside an enum-like field's allowed ones are refused before any
            rollout.
        plugins: modules imported before the config is checked, so that the estimators they register can be
            selected (``plugins: [my_package.estimators]``, or a file: ``plugins: [path/to/estimators.py]``).
        answer_key: for ``igpo``, the key of the gold answer in ``info["privileged"]``.
        prm_lr, prm_updates: for ``oprl``, the implicit PRM's learning rate and DPO steps per batch.

    Update (docs/algorithms.md section 0.3):
        lr, weight_decay, max_grad_norm; ppo_epochs passes over each batch, split into mini_batches optimizer
        steps; micro_batch_rows rows (turns) per forward/backward (gradient accumulation, exact: see
        :func:`densegym.trainers.losses.token_weights`); clip_low, clip_high, loss_agg, kl_coef (k3 KL to the
        policy after its warm start), entropy_coef. old_logprobs: ``"recompute"`` (teacher-forced before the update, verl's
        default) or ``"rollout"`` (the sampler's own numbers).

    Warm start:
        sft: ``{episodes, epochs, lr}``: supervised fine-tuning on oracle demonstrations before RL (the env
            must have ``oracle_action()``); ``None`` skips it.

    Evaluation and bookkeeping:
        eval_every (0: never), eval_tasks (seeds ``eval_seed .. eval_seed + eval_tasks - 1``; held out unless
        they overlap the training seeds on purpose), eval_samples (episodes per task), eval_temperature.
        seed, output_dir (config.yaml, metrics.jsonl, curves.png, rollouts/, checkpoints/, tensorboard/),
        save_every (0: at the end only), tensorboard, log_rollouts (write every trajectory as JSONL), progress
        (``None``: bars when stderr is a terminal, one line per phase otherwise; ``True``: bars; ``False``:
        silent).
        resume: continue from the latest checkpoint in output_dir; refused when the config changes a key of
            :data:`RESUME_KEYS` (what the checkpoint means). overwrite: clear output_dir first (only when every
            entry in it is one a densegym run writes). Without either, a non-empty output_dir is refused.
        quick: a smoke run, applied when the config is read (:meth:`from_dict`, :meth:`from_yaml`, the command
            line): :func:`quick_settings`, under any key also given as an override.
    """

    env: str = "densegym/Sokoban-small-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    reward_weights: dict[str, float] | None = None

    model: str = "tiny"
    model_config: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    dtype: str = "float32"
    lora: dict[str, Any] | None = None
    generation_backend: str = "hf"
    vllm_kwargs: dict[str, Any] = field(default_factory=dict)

    steps: int = 20
    tasks_per_step: int = 8
    group_size: int = 4
    task_pool: int | None = None
    max_turns: int = 8
    context: str = "current"
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 16
    num_workers: int = 1
    candidates: int = 1
    async_rollout: bool = False
    rollout_max_batch: int | None = None
    rollout_max_wait_ms: float = 20.0

    plugins: list[str] = field(default_factory=list)
    estimator: str = "grpo"
    estimator_config: dict[str, Any] = field(default_factory=dict)
    transforms: list[dict[str, Any]] = field(default_factory=list)
    answer_key: str = "answer"
    prm_lr: float = 1e-5
    prm_updates: int = 1

    lr: float = 1e-5
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    ppo_epochs: int = 1
    mini_batches: int = 1
    micro_batch_rows: int = 32
    clip_low: float = 0.2
    clip_high: float = 0.28
    loss_agg: str = "token-mean"
    kl_coef: float = 0.0
    entropy_coef: float = 0.0
    old_logprobs: str = "recompute"

    sft: dict[str, Any] | None = None

    eval_every: int = 0
    eval_tasks: int = 32
    eval_seed: int = 1_000_000
    eval_temperature: float = 1.0
    eval_samples: int = 1

    seed: int = 0
    output_dir: str = "runs/train"
    save_every: int = 0
    tensorboard: bool = False
    log_rollouts: bool = True
    progress: bool | None = None
    resume: bool = False
    overwrite: bool = False
    quick: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the field and the accepted values for anything that cannot work."""
        check_types(self)
        if self.resume and self.overwrite:
            raise ValueError("resume=true continues the run in output_dir and overwrite=true clears it: pass one")
        import_plugins(self.plugins)
        spec = get_spec(self.estimator)  # unknown: lists the known names, registered ones included
        spec.make_config(self.estimator_config)  # unknown keys, enum-like values (the config's validate())
        for t in self.transforms:
            check_transform(t)
        if self.loss_agg not in AGGREGATIONS:
            raise ValueError(f"loss_agg must be one of {AGGREGATIONS}, got {self.loss_agg!r}")
        if self.generation_backend not in GENERATION_BACKENDS:
            raise ValueError(f"generation_backend must be one of {GENERATION_BACKENDS}, got {self.generation_backend!r}")
        if self.generation_backend == "vllm" and self.device == "cpu":
            raise ValueError("generation_backend='vllm' needs a CUDA GPU; use device=auto or cuda, or generation_backend=hf")
        if self.old_logprobs not in ("recompute", "rollout"):
            raise ValueError(f"old_logprobs must be 'recompute' or 'rollout', got {self.old_logprobs!r}")
        for name in ("steps", "tasks_per_step", "group_size", "max_turns", "max_new_tokens", "num_workers",
                     "ppo_epochs", "mini_batches", "micro_batch_rows", "prm_updates", "eval_tasks", "eval_samples"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.rollout_max_batch is not None and int(self.rollout_max_batch) < 1:
            raise ValueError(f"rollout_max_batch must be at least 1 (or null: every episode in flight), got {self.rollout_max_batch}")
        if float(self.rollout_max_wait_ms) < 0:
            raise ValueError(f"rollout_max_wait_ms must be at least 0, got {self.rollout_max_wait_ms}")
        if self.candidates < 1 or (self.candidates > 1 and "candidates" not in spec.needs):
            from densegym.trainers.estimators import ESTIMATORS

            takers = sorted(n for n in ESTIMATORS if "candidates" in get_spec(n).needs)
            raise ValueError(f"candidates={self.candidates}: K > 1 candidate actions feed the state groups of "
                             f"estimator {' or '.join(map(repr, takers))} only (those that need 'candidates'); "
                             f"{self.estimator!r} does not")
        if self.task_pool is not None and self.task_pool < 1:
            raise ValueError(f"task_pool must be None or at least 1, got {self.task_pool}")
        if self.lr <= 0 or self.max_grad_norm <= 0:
            raise ValueError("lr and max_grad_norm must be positive")
        from densegym.agents.context import ContextPolicy

        ContextPolicy.from_spec(self.context)

    # ---- YAML and overrides -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, explicit: set[str] | frozenset[str] = frozenset()) -> TrainerConfig:
        """The config of ``data``; with ``quick: true``, :func:`quick_settings` replace its values except those of
        the keys in ``explicit`` (the command line's overrides)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}; known keys: {', '.join(sorted(known))}")
        if data.get("quick") is True:
            data = {**data, **{k: v for k, v in quick_settings(data).items() if k not in explicit}}
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> TrainerConfig:
        """Read ``path`` (a YAML mapping, or a bundled config's name such as ``"sokoban_turn"``; ``None`` starts
        from the defaults), then apply ``overrides``."""
        import yaml

        from densegym.configs import resolve_config

        data: dict[str, Any] = {}
        if path is not None:
            path = resolve_config(path)
            text = path.read_text()
            try:
                data = yaml.safe_load(text) or {}
            except yaml.YAMLError as exc:
                raise ValueError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
            if not isinstance(data, dict):
                raise ValueError(f"{path}: a config is a YAML mapping of keys to values")
        explicit = set()
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep or not key:
                raise ValueError(f"override {item!r}: write key=value (e.g. lr=1e-4)")
            try:
                value = yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise ValueError(f"override {item!r}: the value is not valid YAML: {_yaml_problem(exc, line=False)}"
                                 ) from None
            _set_dotted(data, key.strip(), value)
            explicit.add(key.strip().partition(".")[0])
        return cls.from_dict(_exponent_floats(data), explicit=explicit)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | Path) -> None:
        """Write the config as it runs: a quick run's file holds the preset's values with ``quick: false``, so
        that reading it back gives this very config (the preset is not applied twice)."""
        import yaml

        data, header = self.to_dict(), ""
        if data["quick"]:
            data["quick"] = False
            header = "# a quick=true run: the preset's values are written out below\n"
        Path(path).write_text(header + yaml.safe_dump(data, sort_keys=False))

    def estimator_settings(self) -> Any:
        """The estimator's config dataclass with this run's overrides (checked)."""
        return get_spec(self.estimator).make_config(self.estimator_config)


# What a checkpoint means: resuming with any of these changed is refused (the run would continue another
# experiment's weights and optimizer under a config that did not produce them). Every other key (steps, the
# evaluation settings, output and logging, workers, the generation backend, micro_batch_rows, which only splits
# the same gradient) may change on resume.
RESUME_KEYS = (
    "env", "env_kwargs", "reward_weights", "model", "model_config", "dtype", "lora", "tasks_per_step", "group_size",
    "task_pool", "max_turns", "context", "temperature", "top_p", "max_new_tokens", "candidates", "plugins",
    "estimator", "estimator_config", "transforms", "answer_key", "prm_lr", "prm_updates", "lr", "weight_decay",
    "max_grad_norm", "ppo_epochs", "mini_batches", "clip_low", "clip_high", "loss_agg", "kl_coef", "entropy_coef",
    "old_logprobs", "seed",
)


def quick_settings(data: dict[str, Any]) -> dict[str, Any]:
    """The ``quick: true`` preset over the config ``data``: 2 steps of at most 4 tasks x 2 samples, a warm start of
    at most 16 demonstrations and 1 epoch, an evaluation (if any) of at most 4 tasks x 1 sample at the start and
    the end, and ``<output_dir>-quick`` as the output directory, so that a smoke run never mixes with a real one.
    A pipeline check: its numbers mean nothing."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainerConfig)
                if f.default is not dataclasses.MISSING}
    value = {**defaults, **data}
    quick: dict[str, Any] = {
        "steps": 2,
        "tasks_per_step": min(int(value["tasks_per_step"]), 4),
        "group_size": min(int(value["group_size"]), 2),
        "eval_tasks": min(int(value["eval_tasks"]), 4),
        "eval_samples": 1,
    }
    if value["eval_every"]:
        quick["eval_every"] = 2
    if value.get("sft"):
        sft = dict(value["sft"])
        quick["sft"] = {**sft, "episodes": min(int(sft.get("episodes", 64)), 16), "epochs": 1}
    out = str(value["output_dir"])
    quick["output_dir"] = out if out.endswith("-quick") else out.rstrip("/") + "-quick"
    return quick


# type of each int / float / bool field, read from the annotations ("int", "float | None", "bool | None" ...)
_SCALAR_KINDS = {"int": "an integer", "float": "a number", "bool": "true or false"}


def check_types(config: Any) -> None:
    """ValueError naming the key for a scalar field of the wrong type (``steps must be an integer, got 'one'``)."""
    for f in dataclasses.fields(config):
        kinds = [k.strip() for k in str(f.type).split("|")]
        kind = next((k for k in kinds if k in _SCALAR_KINDS), None)
        if kind is None:
            continue
        value = getattr(config, f.name)
        if value is None and "None" in kinds:
            continue
        if kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "int":
            ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        else:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not ok:
            also = " or null" if "None" in kinds else ""
            raise ValueError(f"{f.name} must be {_SCALAR_KINDS[kind]}{also}, got {value!r}")


def _yaml_problem(exc: Exception, *, line: bool = True) -> str:
    """``line L, column C: <problem>`` of a ``yaml.YAMLError``."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None and line:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return str(problem)


def check_transform(transform: Any) -> Any:
    """A ``transforms`` entry's config, checked: a known name, known keys (the unknown ones are named with the
    valid ones), enum-like values among the allowed ones (:data:`TRANSFORM_CHOICES`), one G-RA threshold per
    gating channel."""
    if not isinstance(transform, dict) or transform.get("name") not in TRANSFORM_CONFIGS:
        raise ValueError(f"a transform is a dict with 'name' in {sorted(TRANSFORM_CONFIGS)}, got {transform!r}")
    name = transform["name"]
    settings = {k: v for k, v in transform.items() if k != "name"}
    known = [f.name for f in dataclasses.fields(TRANSFORM_CONFIGS[name])]
    unknown = set(settings) - set(known)
    if unknown:
        raise ValueError(f"transform {name}: unknown {sorted(unknown)}; known: {sorted(known)}")
    config = TRANSFORM_CONFIGS[name](**settings)
    for key, allowed in TRANSFORM_CHOICES.get(name, {}).items():
        if getattr(config, key) not in allowed:
            raise ValueError(f"transform {name}: {key}={getattr(config, key)!r} is not allowed; use one of "
                             f"{', '.join(map(repr, allowed))}")
    if name == "gated" and len(config.thresholds) != len(config.channels) - 1:
        raise ValueError(f"transform gated: {len(config.channels)} channels need {len(config.channels) - 1} "
                         f"thresholds (one per gating channel), got {list(config.thresholds)}")
    if callable(getattr(config, "validate", None)):
        config.validate()
    return config


def import_plugins(plugins: Any) -> None:
    """Import each of ``plugins`` (a module name, or a path to a ``.py`` file) once per process, so that the
    estimators it registers exist before the config names one."""
    import importlib
    import sys

    from densegym.envs.resolve import exec_module_file

    if not isinstance(plugins, (list, tuple)) or not all(isinstance(p, str) for p in plugins):
        raise ValueError(f"plugins is a list of module names or .py paths, got {plugins!r}")
    for plugin in plugins:
        if not plugin.endswith(".py"):
            importlib.import_module(plugin)
            continue
        path = Path(plugin).resolve()
        name = "densegym_plugin_" + re.sub(r"\W", "_", str(path))
        if name in sys.modules:
            continue
        if not path.is_file():
            raise ValueError(f"plugins: no file {plugin!r}")
        exec_module_file(name, path)


_EXPONENT_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _exponent_floats(value: Any) -> Any:
    """``1e-4`` as a float: PyYAML follows YAML 1.1, which reads an exponent without a dot as a string."""
    if isinstance(value, str) and _EXPONENT_FLOAT.match(value):
        return float(value)
    if isinstance(value, dict):
        return {k: _exponent_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exponent_floats(v) for v in value]
    return value


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    head, _, rest = key.partition(".")
    if not rest:
        data[head] = value
        return
    inner = data.get(head)
    if inner is None:
        inner = data[head] = {}
    if not isinstance(inner, dict):
        raise ValueError(f"override {key!r}: {head} is not a mapping")
    _set_dotted(inner, rest, value)
