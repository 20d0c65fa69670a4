"""One process or many: the trainer's view of distributed training, on top of accelerate.

A single process (``python -m densegym train``) needs nothing: the runtime is a thin no-op. Under
``accelerate launch`` (or ``torchrun``; ``WORLD_SIZE > 1``) the policy is wrapped by
``accelerate.Accelerator`` (DDP; FSDP through ``accelerate config``), every rank plays its own share of the
step's tasks in its own EnvPool, gradients are all-reduced once per optimizer step (``no_sync`` on the other
micro-batches), and rank 0 writes logs and checkpoints. Multi-node is accelerate's own: launch the same command
on every node with ``--num_machines``/``--machine_rank``/``--main_process_ip``.

Each rank normalises its loss over its own tokens before DDP averages the gradients (as verl does per data-
parallel rank); with equal shares this differs from a global token mean only by the spread of token counts.

On a machine without CUDA the processes use gloo on the CPU. ``accelerate launch --cpu --num_processes N``
starts one process unless an MPI host file is given, so launch CPU runs with ``torchrun --nproc_per_node N``
(what ``accelerate launch`` runs for GPUs); a process that sees ``WORLD_SIZE > 1`` but ends up alone raises
rather than train a copy of the run that overwrites the others' files.
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
    ``reduce_metrics`` / ``all_ranks`` / ``weighted_mean_gradients`` (across ranks), ``barrier``."""

    def __init__(self, device: str = "auto"):
        self.accelerator = None
        if world_size_from_env() > 1:
            try:
                from accelerate import Accelerator
            except ImportError as exc:
                raise ImportError("multi-process training needs accelerate: pip install 'densegym[train]'") from exc
            # accelerate chooses gloo on the CPU only when asked for the CPU; "auto" without CUDA means the CPU
            cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
            self.accelerator = Accelerator(cpu=cpu)
            self.device = self.accelerator.device
            self.rank, self.world_size = self.accelerator.process_index, self.accelerator.num_processes
            if self.world_size != world_size_from_env():
                raise RuntimeError(
                    f"WORLD_SIZE={world_size_from_env()} but accelerate started {self.world_size} process(es) "
                    f"(distributed type {self.accelerator.distributed_type}); check the launcher and device={device!r}"
                )
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

    def reduce_metrics(self, metrics: dict[str, float], sums: tuple[str, ...] = ()) -> dict[str, float]:
        """Every metric's mean over the ranks that report it (the keys may differ: a rank without a success x
        failure pair has no PRM loss), or its sum for the keys in ``sums`` (counts such as ``trajectories``)."""
        if self.accelerator is None:
            return metrics
        gathered: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(gathered, dict(metrics))
        out: dict[str, float] = {}
        for key in dict.fromkeys(k for m in gathered for k in m):
            values = [float(m[key]) for m in gathered if key in m]
            out[key] = sum(values) if key in sums else sum(values) / len(values)
        return out

    @property
    def replicated(self) -> bool:
        """Every rank holds the whole policy (DDP), as opposed to a shard of it (FSDP, DeepSpeed ZeRO)."""
        return isinstance(self._model, torch.nn.parallel.DistributedDataParallel)

    def spread(self, value: float) -> float:
        """``max - min`` of ``value`` over the ranks (0 in a single process)."""
        if self.accelerator is None:
            return 0.0
        gathered: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(gathered, float(value))
        return max(gathered) - min(gathered)

    def all_ranks(self, flag: bool) -> list[bool]:
        """``flag`` of every rank, in rank order."""
        if self.accelerator is None:
            return [bool(flag)]
        gathered: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(gathered, bool(flag))
        return [bool(f) for f in gathered]

    def weighted_mean_gradients(self, params: list[torch.nn.Parameter], weight: float) -> None:
        """Replace each gradient by ``sum_r weight_r * grad_r / sum_r weight_r`` over the ranks (for a model
        outside DDP, e.g. OPRL's PRM: ``weight`` is this rank's number of pairs, so the result is the gradient of
        the mean over all ranks' pairs). A missing gradient counts as zero; no-op in a single process."""
        if self.accelerator is None:
            return
        total = torch.tensor([float(weight)], dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(total)
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            p.grad.mul_(float(weight))
            torch.distributed.all_reduce(p.grad)
            p.grad.div_(max(float(total.item()), 1e-12))

    def barrier(self) -> None:
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()
