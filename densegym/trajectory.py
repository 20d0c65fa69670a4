"""Trajectories: what an episode was, turn by turn, with every reward component, on disk as JSONL.

One trajectory a line; loadable with ``datasets.load_dataset("json", data_files=...)``. Writes append
and flush each line, so a crash loses at most the trajectory in flight.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class Turn:
    """One agent turn: the observation it acted on, its action, and what the env made of it.

    ``prompt_ids`` / ``action_ids`` / ``action_logprobs`` are filled when the agent produced tokens.
    """

    observation: str
    action: str
    reward: float
    components: dict[str, float]
    action_valid: bool = True
    anchor: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    prompt_ids: list[int] | None = None
    action_ids: list[int] | None = None
    action_logprobs: list[float] | None = None


@dataclass
class Trajectory:
    """One episode. ``privileged`` holds the trainer-only facts (gold answers, oracle distances)."""

    env_id: str
    task_id: str
    seed: int | None = None
    group_id: str | None = None
    turns: list[Turn] = field(default_factory=list)
    success: bool = False
    outcome: float = 0.0
    terminated: bool = False
    truncated: bool = False
    privileged: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def total_reward(self) -> float:
        return sum(t.reward for t in self.turns)

    def component_sums(self) -> dict[str, float]:
        """The sum over turns of each reward component (unweighted)."""
        sums: dict[str, float] = {}
        for turn in self.turns:
            for name, value in turn.components.items():
                sums[name] = sums.get(name, 0.0) + value
        return sums

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trajectory:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown trajectory fields: {sorted(unknown)}")
        data = dict(data)
        data["turns"] = [Turn(**t) for t in data.get("turns", [])]
        return cls(**data)


class TrajectoryWriter:
    """Appends trajectories to a JSONL file, one line each, flushed and fsynced as they are written."""

    def __init__(self, path: str | Path, *, fsync: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._fsync = fsync
        self.count = 0

    def write(self, trajectory: Trajectory) -> None:
        self._file.write(json.dumps(trajectory.to_dict()) + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())
        self.count += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def write_jsonl(path: str | Path, trajectories: Iterable[Trajectory]) -> int:
    with TrajectoryWriter(path) as writer:
        for trajectory in trajectories:
            writer.write(trajectory)
        return writer.count


def read_jsonl(path: str | Path) -> Iterator[Trajectory]:
    """Yield the trajectories of a JSONL file; a truncated last line (a crash mid-write) is skipped.

    A line that is not JSON, not a JSON object, or not a trajectory record (an unknown or missing field, a field
    of the wrong type) raises ``ValueError("FILE:LINE: what is wrong")``.
    """
    with Path(path).open(encoding="utf-8") as f:
        lines = f.readlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if i == len(lines) - 1 and not line.endswith("\n"):
                return
            raise ValueError(f"{path}:{i + 1}: not a JSON line ({exc.msg} at column {exc.colno})") from None
        problem = _record_problem(data)
        if problem:
            raise ValueError(f"{path}:{i + 1}: {problem}")
        yield Trajectory.from_dict(data)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_list_of(value: Any, check: Any) -> bool:
    return isinstance(value, list) and all(check(v) for v in value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional(check: Any) -> Any:
    return lambda value: value is None or check(value)


# field -> (what it must be, its check); the required ones are the fields without a default
_TRAJECTORY_FIELDS: dict[str, tuple[str, Any]] = {
    "env_id": ("a string", lambda v: isinstance(v, str)),
    "task_id": ("a string", lambda v: isinstance(v, str)),
    "seed": ("an integer or null", _optional(_is_int)),
    "group_id": ("a string or null", _optional(lambda v: isinstance(v, str))),
    "turns": ("a list of turn objects", lambda v: isinstance(v, list)),
    "success": ("true or false", lambda v: isinstance(v, bool)),
    "outcome": ("a number", _is_number),
    "terminated": ("true or false", lambda v: isinstance(v, bool)),
    "truncated": ("true or false", lambda v: isinstance(v, bool)),
    "privileged": ("an object or null", _optional(lambda v: isinstance(v, dict))),
    "meta": ("an object", lambda v: isinstance(v, dict)),
}
_TURN_FIELDS: dict[str, tuple[str, Any]] = {
    "observation": ("a string", lambda v: isinstance(v, str)),
    "action": ("a string", lambda v: isinstance(v, str)),
    "reward": ("a number", _is_number),
    "components": ("an object of numbers",
                   lambda v: isinstance(v, dict) and all(_is_number(x) for x in v.values())),
    "action_valid": ("true or false", lambda v: isinstance(v, bool)),
    "anchor": ("a string", lambda v: isinstance(v, str)),
    "info": ("an object", lambda v: isinstance(v, dict)),
    "prompt_ids": ("a list of integers or null", _optional(lambda v: _is_list_of(v, _is_int))),
    "action_ids": ("a list of integers or null", _optional(lambda v: _is_list_of(v, _is_int))),
    "action_logprobs": ("a list of numbers or null", _optional(lambda v: _is_list_of(v, _is_number))),
}
_REQUIRED = {
    "trajectory": {f.name for f in fields(Trajectory) if f.default is MISSING and f.default_factory is MISSING},
    "turn": {f.name for f in fields(Turn) if f.default is MISSING and f.default_factory is MISSING},
}


def _fields_problem(data: dict[str, Any], spec: dict[str, tuple[str, Any]], kind: str, where: str) -> str | None:
    unknown = sorted(set(data) - set(spec))
    if unknown:
        return f"{where}unknown {kind} fields {unknown}; the fields are {', '.join(spec)}"
    missing = sorted(_REQUIRED[kind] - set(data))
    if missing:
        return f"{where}missing {kind} fields {missing}"
    for name, value in data.items():
        what, check = spec[name]
        if not check(value):
            return f"{where}{kind} field {name!r} must be {what}, got {type(value).__name__} {_short(value)}"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _record_problem(data: Any) -> str | None:
    """What is wrong with one decoded line as a trajectory record, or ``None``."""
    if not isinstance(data, dict):
        return f"a trajectory line is a JSON object, got {type(data).__name__} {_short(data)}"
    problem = _fields_problem(data, _TRAJECTORY_FIELDS, "trajectory", "")
    if problem:
        return problem
    for k, turn in enumerate(data.get("turns", [])):
        if not isinstance(turn, dict):
            return f"turn {k}: a turn is a JSON object, got {type(turn).__name__} {_short(turn)}"
        problem = _fields_problem(turn, _TURN_FIELDS, "turn", f"turn {k}: ")
        if problem:
            return problem
    return None
