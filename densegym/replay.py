"""Replay and re-scoring from logs: re-run a trajectory's stored actions on a fresh env and compare, or score again.

:func:`replay` resets a fresh env of the trajectory's id (with its recorded kwargs) to the trajectory's seed and
task, steps it with every stored action in turn, and checks that every stored reward component, the weighted
reward, the action's validity and the episode's end (terminated, success, outcome) come out the same. It stops at
the first difference and reports it (trajectory index, turn, what, stored vs replayed). When a trajectory does
not reproduce, its actions are replayed a second time: if the two replays differ from each other the env is not
deterministic (the report says so, status ``"nondeterministic"``), otherwise the stored value is wrong (a file
edited by hand, or an env whose code changed since: status ``"differs"``).

:func:`rescore` replays with other reward weights or hooks (``rewards=``, as ``TextEnv(rewards=...)`` and
:meth:`~densegym.rewards.base.RewardSet.with_overrides` take them) and returns new trajectories: each turn's
``components`` are the replayed ones (plus every added hook's), its ``reward`` the re-weighted sum. No agent is
needed: the actions are the stored ones. The components the override does not replace must still reproduce.

What a trajectory must carry: ``env_id`` (an id or a ``module:Class`` spec), ``seed``, ``task_id`` and the
actions; ``meta["env_kwargs"]`` and ``meta["env_imports"]`` (``densegym rollout`` records both) say how the env
was built. A trajectory without ``meta["env_kwargs"]`` (a file written before they were recorded) is replayed
with the registered defaults (plus ``env_kwargs=``), and the report's ``assumptions`` say so. The reset is the
one a rollout makes: ``reset(seed=seed)`` when that gives the stored task, else
``reset(seed=seed, options={"task": task_id})``.

Not replayed: trajectories whose episode failed (``meta["failed"]``) and trajectories without turns (listed in
``skipped``). The VPR candidates in ``turn.info["candidates"]`` are copied as they are, not re-scored.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from densegym.trajectory import Trajectory

__all__ = ["Difference", "ReplayError", "ReplayReport", "RewardSpecError", "load_rewards", "replay", "rescore"]

STATUSES = ("reproduced", "differs", "nondeterministic", "error")


class RewardSpecError(ValueError):
    """A ``rewards`` override that cannot be used: a hook that does not import, a weight for an unknown component."""


class ReplayError(RuntimeError):
    """:func:`rescore` could not re-score: the stored trajectories do not reproduce (``report`` says where)."""

    def __init__(self, report: ReplayReport):
        super().__init__(report.message())
        self.report = report


@dataclass
class Difference:
    """The first place a replay differs: ``trajectory`` (index in the input, from 0), ``turn`` (index into its
    ``turns``, from 0; ``None`` for the task), ``what`` (a component name, ``reward``, ``action_valid``,
    ``terminated``, ``success``, ``outcome``, ``task_id``), and the two values."""

    trajectory: int
    turn: int | None
    what: str
    stored: Any
    replayed: Any

    def __str__(self) -> str:
        where = f"trajectory {self.trajectory}" + (f", turn {self.turn}" if self.turn is not None else "")
        what = f"component {self.what!r}" if self.what not in _FIELDS else self.what
        return f"{where}, {what}: stored {_show(self.stored)}, replayed {_show(self.replayed)}"

    def to_dict(self) -> dict[str, Any]:
        return {"trajectory": self.trajectory, "turn": self.turn, "what": self.what, "stored": self.stored,
                "replayed": self.replayed}


_FIELDS = ("reward", "action_valid", "terminated", "truncated", "success", "outcome", "task_id", "episode")
_MISSING = "(none)"


def _show(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value) if isinstance(value, str) and value == _MISSING else json.dumps(value, default=str)


@dataclass
class ReplayReport:
    """What a replay found. ``status``: ``reproduced`` (every replayed trajectory matched), ``differs`` (a stored
    value does not reproduce: ``difference``), ``nondeterministic`` (two replays of the same actions differ:
    ``difference`` is replay 1 vs replay 2, ``stored_difference`` stored vs replay 1), ``error`` (the env raised
    while replaying: ``error``)."""

    total: int = 0
    replayed: int = 0
    turns: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    status: str = "reproduced"
    difference: Difference | None = None
    stored_difference: Difference | None = None
    error: str | None = None
    trajectories: list[Trajectory] = field(default_factory=list)  # the replayed (re-scored) ones, when kept

    @property
    def ok(self) -> bool:
        return self.status == "reproduced"

    def message(self) -> str:
        """One line: what the replay found."""
        done = f"{self.replayed} of {self.total} trajectories ({self.turns} turns) replayed"
        if self.status == "reproduced":
            skipped = f"; {len(self.skipped)} not replayed ({self.skipped[0][1]}, ...)" if self.skipped else ""
            return f"{done}: every stored reward component reproduces{skipped}"
        if self.status == "differs":
            return (f"stored values do not reproduce: {self.difference} (two replays agree, so the stored value is "
                    "not what this env gives: the file was changed, or the env, its kwargs or its code differ)")
        if self.status == "nondeterministic":
            d = self.difference
            turn = f", turn {d.turn}" if d.turn is not None else ""
            what = f"component {d.what!r}" if d.what not in _FIELDS else d.what
            return (f"the env is not deterministic: two replays of trajectory {d.trajectory}'s actions differ "
                    f"({what}{turn}: {_show(d.stored)} then {_show(d.replayed)}), so its rewards cannot be checked "
                    "or re-scored by replay")
        return f"replay failed: {self.error}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "total": self.total, "replayed": self.replayed, "turns": self.turns,
            "skipped": [{"trajectory": i, "reason": r} for i, r in self.skipped], "assumptions": self.assumptions,
            "difference": self.difference.to_dict() if self.difference else None,
            "stored_difference": self.stored_difference.to_dict() if self.stored_difference else None,
            "error": self.error,
        }


# ---- reward overrides --------------------------------------------------------------------------------------


def load_hook(name: str, spec: str, imports: Sequence[str] = ()) -> Any:
    """The hook ``"module:attr"`` names (``module`` may be a ``.py`` file); a class is instantiated with no
    arguments (a :class:`~densegym.rewards.base.RewardHook` subclass)."""
    from densegym.envs.resolve import EnvSpecError, import_module

    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise RewardSpecError(f"reward {name!r}: a hook is named MODULE:ATTR (MODULE may be a .py file), got {spec!r}")
    try:
        for item in imports:
            import_module(item)
        module = import_module(module_name)
    except EnvSpecError as exc:
        raise RewardSpecError(f"reward {name!r}: {exc}") from None
    if not hasattr(module, attr):
        raise RewardSpecError(f"reward {name!r}: module {module_name!r} has no attribute {attr!r}")
    hook = getattr(module, attr)
    if inspect.isclass(hook):
        try:
            hook = hook()
        except TypeError as exc:
            raise RewardSpecError(f"reward {name!r}: {spec} is a class that cannot be built without arguments ({exc})"
                                  ) from None
    if not callable(hook):
        raise RewardSpecError(f"reward {name!r}: {spec} is not callable (a hook is hook(transition) -> float)")
    return hook


def load_rewards(spec: Mapping[str, Any] | None, imports: Sequence[str] = ()) -> dict[str, Any]:
    """A ``rewards`` override as :meth:`RewardSet.with_overrides` takes it, from its JSON form: ``name: weight``
    re-weights a component, ``name: "module:attr"`` adds (or replaces) one with that hook at weight 1, and
    ``name: ["module:attr", weight]`` with that weight. Hooks and ``(hook, weight)`` tuples pass through."""
    out: dict[str, Any] = {}
    for name, value in (spec or {}).items():
        if isinstance(value, str):
            out[name] = load_hook(name, value, imports)
        elif isinstance(value, (list, tuple)) and len(value) == 2 and isinstance(value[0], str):
            out[name] = (load_hook(name, value[0], imports), value[1])
        elif isinstance(value, list):
            raise RewardSpecError(f"reward {name!r}: expected a weight, \"MODULE:ATTR\" or [\"MODULE:ATTR\", weight], "
                                  f"got {json.dumps(value)}")
        else:
            out[name] = value
    return out


def _hook_names(overrides: Mapping[str, Any]) -> set[str]:
    return {n for n, v in overrides.items() if callable(v) or isinstance(v, tuple)}


def _spec_json(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The override as it can be written to a file (a hook object: its qualified name)."""
    def one(value: Any) -> Any:
        if isinstance(value, tuple):
            return [one(value[0]), value[1]]
        if callable(value):
            kind = value if inspect.isfunction(value) or inspect.isclass(value) else type(value)
            return f"{kind.__module__}:{kind.__qualname__}"
        return value

    return {name: one(value) for name, value in (spec or {}).items()}


# ---- envs ----------------------------------------------------------------------------------------------------


class _Envs:
    """One env per (spec, kwargs, imports), built on first use and reused (reset between trajectories, as a
    rollout's workers reuse theirs)."""

    def __init__(self, imports: Sequence[str], env_kwargs: Mapping[str, Any] | None, overrides: Mapping[str, Any]):
        self.imports = tuple(imports)
        self.env_kwargs = dict(env_kwargs or {})
        self.overrides = overrides
        self.envs: dict[str, Any] = {}

    def get(self, traj: Trajectory, assumptions: list[str]) -> Any:
        from densegym.envs.resolve import resolve_env

        stored = traj.meta.get("env_kwargs")
        if not isinstance(stored, dict):
            note = (f"trajectories without meta['env_kwargs'] (written before densegym recorded them) are replayed "
                    f"with {traj.env_id}'s registered kwargs" + (f" and {self.env_kwargs}" if self.env_kwargs else ""))
            if note not in assumptions:
                assumptions.append(note)
            stored = {}
        kwargs = {**stored, **self.env_kwargs}
        imports = [*self.imports, *(i for i in traj.meta.get("env_imports", ()) if i not in self.imports)]
        key = json.dumps([traj.env_id, kwargs, imports], sort_keys=True, default=repr)
        if key not in self.envs:
            env = resolve_env(traj.env_id, kwargs, imports).make()
            if self.overrides:
                base = env.unwrapped
                rewards = getattr(base, "rewards", None)
                if not hasattr(rewards, "with_overrides"):
                    env.close()
                    raise RewardSpecError(f"{traj.env_id} has no RewardSet (env.rewards) to re-weight")
                try:
                    base.rewards = rewards.with_overrides(self.overrides)
                except ValueError as exc:
                    env.close()
                    raise RewardSpecError(f"{traj.env_id}: {exc}") from None
            self.envs[key] = env
        return self.envs[key]

    def close(self) -> None:
        for env in self.envs.values():
            try:
                env.close()
            except Exception:
                pass
        self.envs.clear()


# ---- one trajectory ------------------------------------------------------------------------------------------


@dataclass
class _Step:
    observation: str
    reward: float
    components: dict[str, float]
    valid: bool
    terminated: bool
    truncated: bool
    info: dict[str, Any]


@dataclass
class _Run:
    task_id: str
    task_error: str | None = None
    steps: list[_Step] = field(default_factory=list)
    ended_early: int | None = None  # the turn after which the replayed episode ended while the stored one goes on


def _reset(env: Any, traj: Trajectory, by_task: bool | None) -> tuple[str, dict, bool]:
    """Reset as the rollout did: by seed when that gives the stored task, else by seed and task id."""
    if not by_task and traj.seed is not None:
        obs, info = env.reset(seed=traj.seed)
        if by_task is False or str(info.get("task_id", "")) == traj.task_id:
            return obs, info, False
    obs, info = env.reset(seed=traj.seed, options={"task": traj.task_id})
    return obs, info, True


def _play(env: Any, traj: Trajectory, by_task: bool | None) -> tuple[_Run, bool | None]:
    try:
        _, info, by_task = _reset(env, traj, by_task)
    except ValueError as exc:  # resolve_task refused the id
        return _Run(task_id=_MISSING, task_error=str(exc)), by_task
    run = _Run(task_id=str(info.get("task_id", "")))
    if run.task_id != traj.task_id:
        return run, by_task
    for t, turn in enumerate(traj.turns):
        obs, reward, terminated, truncated, info = env.step(turn.action)
        run.steps.append(_Step(obs, float(reward), dict(info.get("reward_components", {})),
                               bool(info.get("action_valid", True)), bool(terminated), bool(truncated), info))
        if (terminated or truncated) and t < len(traj.turns) - 1:
            run.ended_early = t
            break
    return run, by_task


def _same(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return a == b
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _first_difference(index: int, traj: Trajectory, run: _Run, skip: set[str], check_reward: bool,
                      tol: float) -> Difference | None:
    """Stored ``traj`` against replayed ``run``: the first thing that differs, else ``None``."""
    if run.task_id != traj.task_id:
        replayed = run.task_id if run.task_error is None else f"(not a task of this env: {run.task_error})"
        return Difference(index, None, "task_id", traj.task_id, replayed)
    for t, (turn, step) in enumerate(zip(traj.turns, run.steps)):
        for name in list(turn.components) + [n for n in step.components if n not in turn.components]:
            if name in skip:
                continue
            a, b = turn.components.get(name, _MISSING), step.components.get(name, _MISSING)
            if not _same(a, b, tol):
                return Difference(index, t, name, a, b)
        if check_reward and not _same(turn.reward, step.reward, tol):
            return Difference(index, t, "reward", turn.reward, step.reward)
        if turn.action_valid != step.valid:
            return Difference(index, t, "action_valid", turn.action_valid, step.valid)
    if run.ended_early is not None:
        return Difference(index, run.ended_early, "episode", f"goes on for {len(traj.turns)} turns",
                          f"ended after turn {run.ended_early}")
    if run.steps:
        last, t = run.steps[-1], len(run.steps) - 1
        if traj.terminated != last.terminated:
            return Difference(index, t, "terminated", traj.terminated, last.terminated)
        if last.truncated and not traj.truncated:  # (a stored truncation may be the rollout's max_turns, not the env's)
            return Difference(index, t, "truncated", traj.truncated, last.truncated)
        if traj.success != bool(last.info.get("success", False)):
            return Difference(index, t, "success", traj.success, bool(last.info.get("success", False)))
        if not _same(traj.outcome, float(last.info.get("outcome", 0.0)), tol):
            return Difference(index, t, "outcome", traj.outcome, float(last.info.get("outcome", 0.0)))
    return None


def _runs_differ(index: int, first: _Run, second: _Run, tol: float) -> Difference | None:
    """Two replays of the same actions: the first thing that differs (``stored`` is the first replay's value)."""
    if first.task_id != second.task_id:
        return Difference(index, None, "task_id", first.task_id, second.task_id)
    for t, (a, b) in enumerate(zip(first.steps, second.steps)):
        for name in dict.fromkeys([*a.components, *b.components]):
            x, y = a.components.get(name, _MISSING), b.components.get(name, _MISSING)
            if not _same(x, y, tol):
                return Difference(index, t, name, x, y)
        for what, x, y in (("reward", a.reward, b.reward), ("action_valid", a.valid, b.valid),
                           ("terminated", a.terminated, b.terminated),
                           ("success", a.info.get("success"), b.info.get("success")),
                           ("outcome", a.info.get("outcome"), b.info.get("outcome"))):
            if not _same(x, y, tol):
                return Difference(index, t, what, x, y)
    if len(first.steps) != len(second.steps):
        t = min(len(first.steps), len(second.steps)) - 1
        return Difference(index, t, "episode", f"{len(first.steps)} turns", f"{len(second.steps)} turns")
    return None


def _rescored(traj: Trajectory, run: _Run, spec: Mapping[str, Any] | None) -> Trajectory:
    new = copy.deepcopy(traj)
    for turn, step in zip(new.turns, run.steps):
        turn.components = dict(step.components)
        turn.reward = step.reward
        if "reward_weights" in step.info:
            turn.info["reward_weights"] = step.info["reward_weights"]
    if spec:
        new.meta["rescored"] = {"rewards": _spec_json(spec)}
    return new


# ---- the entry points ----------------------------------------------------------------------------------------


def replay(
    trajectories: Iterable[Trajectory],
    *,
    rewards: Mapping[str, Any] | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    imports: Sequence[str] = (),
    keep: bool = False,
    tolerance: float = 1e-9,
) -> ReplayReport:
    """Replay every trajectory's actions on a fresh env of its id, seed and task and compare (module docstring).

    Args:
        trajectories: e.g. ``read_jsonl(path)``.
        rewards: re-score with these weights / hooks (``{"progress": 0.0}``, ``{"mine": (hook, 1.0)}``, or the
            JSON forms of :func:`load_rewards`); the components a hook adds or replaces are not compared, and
            neither is the weighted reward.
        env_kwargs: env keyword arguments merged over each trajectory's recorded ``meta["env_kwargs"]``.
        imports: modules (or .py files) to import first, as ``--import`` (e.g. the module of an env class).
        keep: keep the replayed trajectories in ``report.trajectories`` (the re-scored ones with ``rewards``).
        tolerance: relative and absolute tolerance of the comparison of numbers.

    Raises:
        RewardSpecError: ``rewards`` names a hook that does not import, or weighs a component the env lacks.
        densegym.envs.resolve.EnvSpecError: a trajectory's env cannot be resolved (an unknown id, a bad kwarg).
    """
    overrides = load_rewards(rewards, imports) if rewards else {}
    skip = _hook_names(overrides)
    report = ReplayReport()
    envs = _Envs(imports, env_kwargs, overrides)
    try:
        for index, traj in enumerate(trajectories):
            report.total += 1
            if "failed" in traj.meta:
                report.skipped.append((index, "its episode failed in the rollout"))
                continue
            if not traj.turns:
                report.skipped.append((index, "it has no turns"))
                continue
            env = envs.get(traj, report.assumptions)
            try:
                run, by_task = _play(env, traj, None)
            except Exception as exc:
                report.status, report.error = "error", f"trajectory {index}: the env raised {type(exc).__name__}: {exc}"
                return report
            difference = _first_difference(index, traj, run, skip, not overrides, tolerance)
            if difference is not None:
                try:
                    again, _ = _play(env, traj, by_task)
                except Exception as exc:
                    report.status = "error"
                    report.error = f"trajectory {index}: the env raised {type(exc).__name__}: {exc} on a second replay"
                    return report
                between = _runs_differ(index, run, again, tolerance)
                if between is not None:
                    report.status, report.difference, report.stored_difference = "nondeterministic", between, difference
                else:
                    report.status, report.difference = "differs", difference
                return report
            report.replayed += 1
            report.turns += len(run.steps)
            if keep:
                report.trajectories.append(_rescored(traj, run, rewards))
    finally:
        envs.close()
    return report


def rescore(
    trajectories: Iterable[Trajectory],
    rewards: Mapping[str, Any],
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    imports: Sequence[str] = (),
    tolerance: float = 1e-9,
) -> list[Trajectory]:
    """The trajectories re-scored with ``rewards`` (see :func:`replay`): the replayed components, the re-weighted
    rewards. Trajectories that are not replayed (failed, empty) are left out.

    Raises:
        ReplayError: a component the override keeps does not reproduce, or the env is not deterministic.
    """
    report = replay(trajectories, rewards=rewards, env_kwargs=env_kwargs, imports=imports, keep=True,
                    tolerance=tolerance)
    if not report.ok:
        raise ReplayError(report)
    return report.trajectories
