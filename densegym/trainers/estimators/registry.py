"""The estimator registry: one declarative :class:`EstimatorSpec` per estimator (docs/architecture.md, "Trainers").

An estimator is a pure function ``fn(batch, config) -> list[np.ndarray]`` (per-turn advantages, one array per
trajectory, in batch order) with a settings dataclass ``config_cls`` whose defaults are docs/algorithms.md's. What it
needs beyond the batch it *declares*; the trainer has one provider per need and runs it before calling the
estimator, so the training loop never asks which estimator it is running:

    prm         OPRL's implicit PRM (ImplicitPRM, a copy of the policy DPO-trained on each batch; docs/algorithms.md
                section 1(b)) writes r_phi of every turn to Turn.components[config.step_reward_key] ("prm" when the
                config has no such field)
    probe       IGPO's belief probe of the gold answer (info["privileged"]) on the policy (docs/algorithms.md
                section 2(b)) writes IG_t to Turn.components["info_gain"] and l_t to Turn.info["belief_log_prob"]
    candidates  VPR's K candidate actions per turn, scored from env snapshots (TrainerConfig.candidates;
                docs/algorithms.md section 4(b)): each uncommitted one joins the batch as a one-turn trajectory of
                the same task group, every candidate turn carrying Turn.info["state_group"]

A config may read the PRM's settings (``beta``, ``traj_score_agg``, ``prm_reward_timing``) and the probe's
(``info_gain_type``); those it lacks take :class:`~densegym.trainers.estimators.oprl.OPRLConfig`'s and
``"prob_diff"``. ``candidates: K > 1`` is accepted only for an estimator that needs ``candidates``.

``sums_rewards_over`` names the config fields holding reward keys the estimator sums over the turns of a
trajectory (a trajectory score, a return); the farmable-reward check reads it
(:mod:`densegym.trainers.reward_checks`). ``masked_fn``, when given, is the same estimator returning
``(advantages, per-turn loss masks)`` (``turn``'s masked state groups); the trainer prefers it.

    from densegym.trainers import register_estimator
    register_estimator("my_estimator", my_estimator, config_cls=MyConfig, needs={"prm"})
    # YAML: estimator: my_estimator  /  estimator_config: {...MyConfig's fields...}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

NEEDS = ("candidates", "probe", "prm")  # what the trainer can provide, in the order it provides it

_SUMS_BY_DEFAULT = ("score", "outcome", "reward")  # every reward-key field a custom estimator may sum


@dataclass
class NoSettings:
    """The settings of an estimator that has none."""

    def validate(self) -> None:
        """Nothing to check."""


@dataclass(frozen=True)
class EstimatorSpec:
    """What an estimator is (``fn``, ``config_cls``), what it needs beyond the batch (a subset of
    :data:`NEEDS`) and which reward-key fields of its config it sums over turns (see the module docstring)."""

    name: str
    fn: Callable[..., Any]
    config_cls: type = NoSettings
    needs: frozenset[str] = frozenset()
    sums_rewards_over: tuple[str, ...] = _SUMS_BY_DEFAULT
    masked_fn: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"an estimator's name is a non-empty string, got {self.name!r}")
        if not callable(self.fn):
            raise TypeError(f"estimator {self.name!r}: fn must be callable, got {self.fn!r}")
        if not (isinstance(self.config_cls, type) and dataclasses.is_dataclass(self.config_cls)):
            raise TypeError(f"estimator {self.name!r}: config_cls must be a dataclass, got {self.config_cls!r}")
        needs = frozenset([self.needs] if isinstance(self.needs, str) else self.needs)
        unknown = needs - set(NEEDS)
        if unknown:
            raise ValueError(f"estimator {self.name!r}: unknown needs {sorted(unknown)}; the trainer provides "
                             f"{', '.join(NEEDS)}")
        object.__setattr__(self, "needs", needs)
        object.__setattr__(self, "sums_rewards_over", tuple(self.sums_rewards_over))

    def settings_fields(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.config_cls)]

    def make_config(self, settings: Mapping[str, Any] | None = None) -> Any:
        """``config_cls(**settings)``, checked: unknown keys are named with the valid ones, and the config's
        ``validate()`` (when it has one) refuses a value outside an enum-like field's allowed values."""
        settings = dict(settings or {})
        known = self.settings_fields()
        unknown = set(settings) - set(known)
        if unknown:
            raise ValueError(f"estimator_config for {self.name}: unknown {sorted(unknown)}; known: {sorted(known)}")
        config = self.config_cls(**settings)
        try:
            validate = getattr(config, "validate", None)
            if callable(validate):
                validate()
            for need in sorted(self.needs & set(_PROVIDER_SETTINGS)):  # the provider's settings in the config
                _PROVIDER_SETTINGS[need](config)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"estimator_config for {self.name}: {exc}") from None
        return config

    def advantages(self, batch: Any, config: Any) -> tuple[list[Any], list[Any] | None]:
        """Per-turn advantages and, when the estimator gives them (``masked_fn``), per-turn loss masks."""
        if self.masked_fn is not None:
            advantages, masks = self.masked_fn(batch, config)
            return advantages, masks
        return self.fn(batch, config), None


def prm_settings(config: Any) -> Any:
    """The implicit PRM's settings for an estimator that needs ``prm``: its own config when that is an
    ``OPRLConfig``, else an ``OPRLConfig`` taking ``beta``, ``traj_score_agg``, ``prm_reward_timing`` and
    ``step_reward_key`` from the config where it has them (checked by ``OPRLConfig.validate``)."""
    from densegym.trainers.estimators.oprl import OPRLConfig

    if isinstance(config, OPRLConfig):
        return config
    fields = ("beta", "traj_score_agg", "prm_reward_timing", "step_reward_key")
    settings = OPRLConfig(**{f: getattr(config, f) for f in fields if hasattr(config, f)})
    settings.validate()
    return settings


def probe_kind(config: Any) -> str:
    """The information-gain kind for an estimator that needs ``probe``: ``config.info_gain_type`` where the
    config has one, else ``"prob_diff"`` (the paper's)."""
    kind = getattr(config, "info_gain_type", "prob_diff")
    if kind not in ("prob_diff", "log_prob_diff"):
        raise ValueError(f"info_gain_type={kind!r} is not allowed; use one of 'prob_diff', 'log_prob_diff'")
    return kind


_PROVIDER_SETTINGS = {"prm": prm_settings, "probe": probe_kind}

_REGISTRY: dict[str, EstimatorSpec] = {}


def register_estimator(
    name: str,
    fn: Callable[..., Any],
    config_cls: type = NoSettings,
    needs: Iterable[str] = (),
    *,
    sums_rewards_over: Iterable[str] = _SUMS_BY_DEFAULT,
    masked_fn: Callable[..., Any] | None = None,
    replace: bool = False,
) -> EstimatorSpec:
    """Add an estimator, selectable as ``TrainerConfig(estimator=name, estimator_config={...})`` or from YAML.

    ``fn(batch, config)`` returns one float array of per-turn advantages per trajectory; ``config_cls`` is a
    dataclass whose every field has a default (its ``validate()``, if any, runs when a TrainerConfig is built);
    ``needs`` is a subset of :data:`NEEDS`. Registering a name that exists raises unless ``replace=True``.
    """
    spec = EstimatorSpec(name, fn, config_cls, frozenset(needs), tuple(sums_rewards_over), masked_fn)
    if name in _REGISTRY and not replace:
        raise ValueError(f"an estimator named {name!r} is registered already; pass replace=True to replace it")
    try:
        spec.config_cls()
    except TypeError as exc:
        raise TypeError(
            f"estimator {name!r}: every field of {spec.config_cls.__name__} needs a default ({exc})"
        ) from None
    _REGISTRY[name] = spec
    return spec


def unregister_estimator(name: str) -> EstimatorSpec:
    """Remove a registered estimator (a KeyError names the known ones); returns its spec."""
    try:
        return _REGISTRY.pop(name)
    except KeyError:
        raise KeyError(f"no estimator {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def get_spec(name: str) -> EstimatorSpec:
    """The spec registered under ``name``; a ValueError lists the known names, users' included."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"estimator {name!r} is unknown; known: {', '.join(sorted(_REGISTRY))}") from None


class RegistryView(Mapping):
    """A read-only, live ``{name: attribute of the spec}`` view of the registry (``ESTIMATORS``, ``CONFIGS``)."""

    def __init__(self, attribute: str):
        self._attribute = attribute

    def __getitem__(self, name: str) -> Any:
        return getattr(_REGISTRY[name], self._attribute)

    def __iter__(self) -> Iterator[str]:
        return iter(list(_REGISTRY))

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{k!r}: {v!r}' for k, v in self.items())}}}"
