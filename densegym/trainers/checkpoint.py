"""Checkpoints: ``step-K/policy/`` for users (``from_pretrained``-loadable: the model, or the LoRA adapter, and
the tokenizer) and the resume state an exact resume needs, in two files:

* ``step-K/trainer_state.pt``: the tensors and their plain containers: the policy's weights, the optimizer, the
  implicit PRM and its optimizer, the torch (and CUDA) RNG states. It is read with
  ``torch.load(weights_only=True)``, which unpickles tensors, numbers, strings and containers only: a file
  that holds any other object (a pickle whose ``__reduce__`` would run code) is refused with
  :class:`UnsafeCheckpointError` before anything in it runs, so resuming from an ``output_dir`` someone else
  could write executes nothing.
* ``step-K/trainer_state.json``: everything else: the step, the metric history and the numpy and Python RNG
  states (as lists).

A checkpoint whose files cannot be read (a truncated ``trainer_state.pt``, broken JSON: a disk that filled up, a
copy cut short) raises :class:`CorruptCheckpointError`; :func:`load_latest_checkpoint` then warns and falls back
to the previous checkpoint.
"""

from __future__ import annotations

import json
import pickle
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

STATE_FILE = "trainer_state.pt"
META_FILE = "trainer_state.json"


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint's resume state holds more than tensors and plain data; it was not loaded."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint's files could not be read (truncated, not valid JSON); nothing of it was restored."""


class CorruptCheckpointWarning(UserWarning):
    """The latest checkpoint could not be read; an earlier one is resumed instead."""


def save_checkpoint(path: str | Path, *, step: int, model: Any, tokenizer: Any, optimizer: Any, prm: Any = None,
                    history: list | None = None) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    (tmp / "policy").mkdir(parents=True, exist_ok=True)
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a bar per checkpoint of a small model is noise in the run's log
    try:
        model.save_pretrained(tmp / "policy")
        tokenizer.save_pretrained(tmp / "policy")
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    tensors = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "prm": prm.state_dict() if prm is not None else None,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    torch.save(tensors, tmp / STATE_FILE)
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    meta = {
        "step": int(step),
        "history": history or [],
        "numpy_rng": [name, keys.tolist(), int(pos), int(has_gauss), float(cached_gaussian)],
        "python_rng": [version, list(internal), gauss_next],
    }
    (tmp / META_FILE).write_text(json.dumps(meta, default=float))  # numpy scalars in the history
    if path.exists():  # re-saving the same step: replace it whole
        import shutil

        shutil.rmtree(path)
    tmp.rename(path)  # a checkpoint directory exists only once it is complete
    return path


def checkpoints(output_dir: str | Path) -> list[Path]:
    """The complete checkpoints under ``output_dir/checkpoints``, lowest step first."""
    root = Path(output_dir) / "checkpoints"
    # a checkpoint of an older densegym has no META_FILE; load_checkpoint says so rather than skipping it
    return sorted(p for p in root.glob("step-*") if (p / STATE_FILE).exists() and not p.name.endswith(".tmp"))


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The complete checkpoint with the highest step under ``output_dir/checkpoints``, or None."""
    found = checkpoints(output_dir)
    return found[-1] if found else None


def load_latest_checkpoint(output_dir: str | Path, *, model: Any, optimizer: Any,
                           prm: Any = None) -> tuple[Path, dict[str, Any]] | None:
    """:func:`load_checkpoint` of the latest readable checkpoint in ``output_dir``: one that is corrupt is skipped
    with a :class:`CorruptCheckpointWarning` for the one before it. ``None`` when there is no checkpoint;
    :class:`CorruptCheckpointError` when none of them can be read. An unsafe one (:class:`UnsafeCheckpointError`)
    is never skipped: it stops the resume."""
    failures = []
    for path in reversed(checkpoints(output_dir)):
        try:
            return path, load_checkpoint(path, model=model, optimizer=optimizer, prm=prm)
        except CorruptCheckpointError as exc:
            failures.append(str(exc))
            warnings.warn(f"{exc}; falling back to the checkpoint before it", CorruptCheckpointWarning, stacklevel=2)
    if failures:
        raise CorruptCheckpointError(f"no checkpoint in {Path(output_dir) / 'checkpoints'} can be read: "
                                     + "; ".join(failures))
    return None


def _load_tensors(file: Path) -> dict[str, Any]:
    """``torch.load(weights_only=True)``: tensors and plain containers, or :class:`UnsafeCheckpointError`."""
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # torch's weights-only unpickler met something else
        reason = str(exc).strip().splitlines()
        detail = next((line for line in reason if "Unsupported" in line or "global" in line.lower()), reason[0] if reason else "")
        raise UnsafeCheckpointError(
            f"refusing to resume from {file}: it holds objects other than tensors and plain data, which "
            f"torch.load(weights_only=True) does not load because unpickling them could run code "
            f"({detail.strip()}). Checkpoints densegym writes hold tensors only; this one was written by "
            "something else (or an older densegym, whose checkpoints cannot be resumed safely)."
        ) from None
    if not isinstance(state, dict) or "model" not in state:
        raise UnsafeCheckpointError(f"{file} is not a densegym resume state (no 'model' entry)")
    return state


def load_checkpoint(path: str | Path, *, model: Any, optimizer: Any, prm: Any = None) -> dict[str, Any]:
    """Restore ``model``, ``optimizer``, ``prm`` and the global RNGs in place; return the state (the tensors'
    entries and the JSON entries ``step``, ``history``, ``numpy_rng``, ``python_rng``).

    Raises :class:`UnsafeCheckpointError` (nothing restored) when ``trainer_state.pt`` holds anything but tensors
    and plain data, and ``FileNotFoundError`` when ``trainer_state.json`` is missing."""
    path = Path(path)
    try:
        state = _load_tensors(path / STATE_FILE)
    except (RuntimeError, EOFError) as exc:
        if isinstance(exc, UnsafeCheckpointError):
            raise
        raise CorruptCheckpointError(f"checkpoint {path.name} is unreadable: {path / STATE_FILE}: "
                                     f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    meta_file = path / META_FILE
    if not meta_file.exists():
        raise FileNotFoundError(f"{meta_file} is missing: {path} is not a complete densegym checkpoint (or was "
                                "written by an older densegym, whose checkpoints cannot be resumed safely)")
    try:
        meta = json.loads(meta_file.read_text())
        if not isinstance(meta, dict) or not {"step", "numpy_rng", "python_rng"} <= set(meta):
            raise ValueError("not a densegym resume state (no step and RNG states)")
    except (ValueError, UnicodeDecodeError) as exc:  # json.JSONDecodeError is a ValueError
        raise CorruptCheckpointError(f"checkpoint {path.name} is unreadable: {meta_file}: {exc}") from exc
    state.update(meta)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if prm is not None:
        if state.get("prm") is None:
            raise ValueError(f"{path} has no PRM state, but this run trains one (estimator=oprl)")
        prm.load_state_dict(state["prm"])
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    name, keys, pos, has_gauss, cached_gaussian = meta["numpy_rng"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached_gaussian)))
    version, internal, gauss_next = meta["python_rng"]
    random.setstate((version, tuple(internal), gauss_next))
    return state
