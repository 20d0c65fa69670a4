"""One process or many: the trainer's view of distributed training, on top of accelerate.

A single process (``python -m densegym train``) needs nothing: the runtime is a thin no-op. Under
``accelerate launch`` (or ``torchrun``; ``WORLD_SIZE > 1``) the policy is wrapped by
``accelerate.Accelerator`` (DDP; FSDP through ``accelerate config``), every rank plays its own share of the
step's tasks in its own EnvPool, gradients are all-reduced once per optimizer step (``no_sync`` on the other
micro-batches), and rank 0 writes logs and checkpoints. Multi-node is accelerate's own: launch the same command
on every node with ``--num_machines``/``--machine_rank``/``--main_process_ip``.

Each rank normalises its loss over its own tokens before DDP averages the gradients (as verl does per data-
parallel rank); with equal shares this differs from a global token mean only by the spread of token counts.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import torch


def world_size_from_env() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


class Runtime:
    """``rank``, ``world_size``, ``is_main``; ``prepare``, ``no_sync``, ``backward``, ``clip_grad``, ``unwrap``,
    ``mean`` (across ranks), ``barrier``."""

    def __init__(self, device: str = "auto"):
        self.accelerator = None
        if world_size_from_env() > 1:
            try:
                from accelerate import Accelerator
            except ImportError as exc:
                raise ImportError("multi-process training needs accelerate: pip install 'densegym[train]'") from exc
            self.accelerator = Accelerator(cpu=device == "cpu")
            self.device = self.accelerator.device
            self.rank, self.world_size = self.accelerator.process_index, self.accelerator.num_processes
        else:
            self.device = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                                       ("cpu" if device == "auto" else device))
            self.rank, self.world_size = 0, 1
        self._model = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def prepare(self, model: Any, optimizer: torch.optim.Optimizer) -> tuple[Any, torch.optim.Optimizer]:
        if self.accelerator is None:
            self._model = model
            return model, optimizer
        self._model, optimizer = self.accelerator.prepare(model, optimizer)
        return self._model, optimizer

    def unwrap(self, model: Any) -> Any:
        return model if self.accelerator is None else self.accelerator.unwrap_model(model)

    def no_sync(self) -> Any:
        if self.accelerator is None:
            return contextlib.nullcontext()
        return self.accelerator.no_sync(self._model)

    def backward(self, loss: torch.Tensor) -> None:
        if self.accelerator is None:
            loss.backward()
        else:
            self.accelerator.backward(loss)

    def clip_grad(self, max_norm: float) -> float:
        params = [p for p in self._model.parameters() if p.requires_grad]
        if self.accelerator is None:
            return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
        return float(self.accelerator.clip_grad_norm_(params, max_norm))

    def mean(self, metrics: dict[str, float]) -> dict[str, float]:
        """The mean of every metric over the ranks (every rank must pass the same keys)."""
        if self.accelerator is None or not metrics:
            return metrics
        keys = sorted(metrics)
        values = torch.tensor([float(metrics[k]) for k in keys], dtype=torch.float64, device=self.device)
        values = self.accelerator.reduce(values, reduction="mean")
        return dict(zip(keys, values.tolist()))

    def barrier(self) -> None:
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()
