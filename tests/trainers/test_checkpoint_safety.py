"""Resuming never unpickles code (review "Reward integrity", D): ``trainer_state.pt`` is read with
``torch.load(weights_only=True)`` and everything that is not a tensor lives in ``trainer_state.json``.

Before, resume used ``torch.load(weights_only=False)``: a ``trainer_state.pt`` planted in ``output_dir`` ran
its ``__reduce__`` on resume. The exact-resume test (``test_trainer.py``) checks the round trip end to end.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer  # noqa: E402
from densegym.trainers.checkpoint import (  # noqa: E402
    META_FILE,
    STATE_FILE,
    UnsafeCheckpointError,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from densegym.trainers.config import TrainerConfig  # noqa: E402
from densegym.trainers.trainer import Trainer  # noqa: E402


class WritesMarker:
    """Unpickling this calls ``open(marker, "w")``: a stand-in for any code a pickle can run."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _policy():
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=0, num_hidden_layers=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = model(torch.tensor([[1, 2, 3]]), labels=torch.tensor([[1, 2, 3]])).loss
    loss.backward()
    optimizer.step()  # an optimizer with state: step counters and moments
    return model, tokenizer, optimizer


def _plant(checkpoint, marker) -> None:
    """Replace the tensors file of a real checkpoint with one that also holds a code-running pickle."""
    state = torch.load(checkpoint / STATE_FILE, weights_only=True)
    state["model"]["evil"] = WritesMarker(str(marker))
    torch.save(state, checkpoint / STATE_FILE)


def test_the_resume_state_is_tensors_and_json_and_restores_every_rng(tmp_path):
    model, tokenizer, optimizer = _policy()
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    path = save_checkpoint(tmp_path / "step-000003", step=3, model=model, tokenizer=tokenizer,
                           optimizer=optimizer, history=[{"loss": np.float32(0.5)}])
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    meta = json.loads((path / META_FILE).read_text())
    assert meta["step"] == 3 and meta["history"] == [{"loss": 0.5}]
    assert set(meta) == {"step", "history", "numpy_rng", "python_rng"}
    torch.load(path / STATE_FILE, weights_only=True)  # loads as weights only

    fresh, _, fresh_optimizer = _policy()
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    state = load_checkpoint(path, model=fresh, optimizer=fresh_optimizer)
    assert state["step"] == 3
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    for name, value in model.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[name], value, rtol=0, atol=0)
    assert fresh_optimizer.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    model, tokenizer, optimizer = _policy()
    path = save_checkpoint(tmp_path / "step-000001", step=1, model=model, tokenizer=tokenizer, optimizer=optimizer)
    marker = tmp_path / "pwned"
    _plant(path, marker)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(UnsafeCheckpointError, match="refusing to resume"):
        load_checkpoint(path, model=model, optimizer=optimizer)
    assert not marker.exists(), "unpickling ran the checkpoint's code"
    for name, value in before.items():  # nothing restored
        torch.testing.assert_close(model.state_dict()[name], value, rtol=0, atol=0)


def test_resume_refuses_a_planted_checkpoint(tmp_path):
    """The attack through the front door: ``resume: true`` on an output_dir holding a planted checkpoint."""
    model, tokenizer, optimizer = _policy()
    out = tmp_path / "run"
    path = save_checkpoint(out / "checkpoints" / "step-000001", step=1, model=model, tokenizer=tokenizer,
                           optimizer=optimizer)
    marker = tmp_path / "pwned"
    _plant(path, marker)
    assert latest_checkpoint(out) == path
    config = TrainerConfig(env="tests.trainers.envs:LetterEnv", steps=2, tasks_per_step=2, group_size=2,
                           max_turns=2, max_new_tokens=4, model_config={"num_hidden_layers": 1},
                           output_dir=str(out), progress=False, resume=True)
    with pytest.raises(UnsafeCheckpointError, match="weights_only"):
        Trainer(config)
    assert not marker.exists()
