"""Where training metrics go: a JSONL file (one line per step, append + flush), TensorBoard when asked, and a
console line per step."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any


class MetricsLog:
    """``log(step, metrics)`` writes ``{"step": step, **metrics}`` to ``path`` and, with ``tensorboard``, to
    ``tb_dir``. On resume, lines of steps after ``resume_step`` (written after the checkpoint by the run that
    was interrupted) are dropped first, so the file reads as one run."""

    def __init__(self, path: str | Path, *, tb_dir: str | Path | None = None, console: bool = True,
                 resume_step: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and self.path.exists():
            kept = [line for line in self.path.read_text().splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= resume_step]
            self.path.write_text("".join(line + "\n" for line in kept))
        elif resume_step is None:
            self.path.write_text("")
        self._file = self.path.open("a", encoding="utf-8")
        self.console = console
        self._tb = None
        if tb_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:  # tensorboard is not a dependency of torch
                raise ImportError("tensorboard=true needs the tensorboard package: pip install 'densegym[train]'") from exc
            self._tb = SummaryWriter(str(tb_dir), purge_step=resume_step + 1 if resume_step is not None else None)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        record = {"step": step, **{k: _plain(v) for k, v in metrics.items()}}
        self._file.write(json.dumps(record, sort_keys=False) + "\n")
        self._file.flush()
        if self._tb is not None:
            for k, v in record.items():
                if k != "step" and isinstance(v, (int, float)) and math.isfinite(v):
                    self._tb.add_scalar(k, v, step)
            self._tb.flush()
        if self.console:
            keys = [k for k in ("success", "outcome", "reward", "loss", "eval/success", "sft/loss_last_epoch")
                    if k in record]
            keys += [k for k in record if k.startswith("components/") and k.removeprefix("components/") not in keys][:4]
            parts = "  ".join(f"{k.removeprefix('components/')}={_short(record[k])}" for k in keys)
            print(f"step {step:>4}  {parts}", file=sys.stderr, flush=True)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    return value


def _short(value: Any) -> str:
    return f"{value:+.3f}" if isinstance(value, float) else str(value)
