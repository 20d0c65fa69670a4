"""Checkpoints: ``step-K/policy/`` for users (``from_pretrained``-loadable: the model, or the LoRA adapter, and
the tokenizer) and ``step-K/trainer_state.pt`` with everything an exact resume needs: the policy's weights, the
optimizer, the implicit PRM and its optimizer, the torch and numpy RNG states, the step and the metric history."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

STATE_FILE = "trainer_state.pt"


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
    state = {
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "prm": prm.state_dict() if prm is not None else None,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy_rng": np.random.get_state(),
        "python_rng": random.getstate(),
        "history": history or [],
    }
    torch.save(state, tmp / STATE_FILE)
    if path.exists():  # re-saving the same step: replace it whole
        import shutil

        shutil.rmtree(path)
    tmp.rename(path)  # a checkpoint directory exists only once it is complete
    return path


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The complete checkpoint with the highest step under ``output_dir/checkpoints``, or None."""
    root = Path(output_dir) / "checkpoints"
    found = sorted(p for p in root.glob("step-*") if (p / STATE_FILE).exists() and not p.name.endswith(".tmp"))
    return found[-1] if found else None


def load_checkpoint(path: str | Path, *, model: Any, optimizer: Any, prm: Any = None) -> dict[str, Any]:
    """Restore ``model``, ``optimizer``, ``prm`` and the global RNGs in place; return the state dict."""
    state = torch.load(Path(path) / STATE_FILE, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if prm is not None:
        if state.get("prm") is None:
            raise ValueError(f"{path} has no PRM state, but this run trains one (estimator=oprl)")
        prm.load_state_dict(state["prm"])
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    np.random.set_state(state["numpy_rng"])
    random.setstate(state["python_rng"])
    return state
