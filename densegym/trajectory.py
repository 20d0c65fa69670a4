"""Trajectories: what an episode was, turn by turn, with every reward component, on disk as JSONL.

One trajectory a line; loadable with ``datasets.load_dataset("json", data_files=...)``. Writes append
and flush each line, so a crash loses at most the trajectory in flight.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
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
    """Yield the trajectories of a JSONL file; a truncated last line (a crash mid-write) is skipped."""
    with Path(path).open(encoding="utf-8") as f:
        lines = f.readlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1 and not line.endswith("\n"):
                return
            raise ValueError(f"{path}:{i + 1}: not a JSON line") from None
        yield Trajectory.from_dict(data)
