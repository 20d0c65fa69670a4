"""The output_dir rules: a non-empty run directory is never reused silently (resume or overwrite, each with its
checks), a resume that would change what the checkpoint means is refused, a corrupt latest checkpoint falls back
to the one before it, and resuming a finished run says so instead of doing nothing silently."""

from __future__ import annotations

import json
import os
import warnings

import pytest

pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

from densegym.trainers.checkpoint import (  # noqa: E402
    CorruptCheckpointError,
    CorruptCheckpointWarning,
    load_latest_checkpoint,
    save_checkpoint,
)
from densegym.trainers.config import RESUME_KEYS, TrainerConfig  # noqa: E402
from densegym.trainers.trainer import Trainer, check_resumable, prepare_output_dir  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LETTER = dict(env="tests.trainers.envs:LetterEnv", tasks_per_step=2, group_size=2, max_turns=2, max_new_tokens=4,
              model_config={"num_hidden_layers": 1}, lr=1e-2)


def config(out, **overrides) -> TrainerConfig:
    return TrainerConfig(**{**LETTER, "steps": 1, "output_dir": str(out), **overrides})


def fake_run(out, **overrides):
    """A directory as a finished run leaves it (its config.yaml, metrics, a rollout file, a checkpoint dir)."""
    (out / "checkpoints" / "step-000001").mkdir(parents=True)
    (out / "rollouts").mkdir()
    (out / "rollouts" / "step-000001.jsonl").write_text("{}\n")
    (out / "metrics.jsonl").write_text('{"step": 1}\n')
    config(out, **overrides).to_yaml(out / "config.yaml")


def test_a_non_empty_output_dir_is_refused_naming_both_fixes(tmp_path):
    fake_run(tmp_path)
    with pytest.raises(ValueError, match="not empty") as info:
        prepare_output_dir(config(tmp_path))
    assert "resume=true" in str(info.value) and "overwrite=true" in str(info.value)
    assert (tmp_path / "metrics.jsonl").exists()


def test_overwrite_clears_a_run_directory_and_lists_what_it_removed(tmp_path):
    fake_run(tmp_path)
    said = []
    prepare_output_dir(config(tmp_path, overwrite=True), said.append)
    assert list(tmp_path.iterdir()) == []
    assert said and "checkpoints/" in said[0] and "metrics.jsonl" in said[0] and "config.yaml" in said[0]


@pytest.mark.parametrize("intruder", ["notes.txt", "rollouts/my-data.csv", "link", "no-config"])
def test_overwrite_refuses_a_directory_densegym_did_not_write_and_removes_nothing(tmp_path, intruder):
    fake_run(tmp_path)
    if intruder == "link":
        os.symlink(tmp_path.parent, tmp_path / "tensorboard")
    elif intruder == "no-config":
        (tmp_path / "config.yaml").unlink()
    else:
        (tmp_path / intruder).write_text("mine")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError, match="not a densegym run directory.*nothing was removed"):
        prepare_output_dir(config(tmp_path, overwrite=True))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_an_output_dir_that_is_a_file_is_an_error(tmp_path):
    path = tmp_path / "run"
    path.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        prepare_output_dir(config(path))


def test_resume_on_a_missing_or_empty_dir_starts_fresh_with_a_message(tmp_path):
    said = []
    prepare_output_dir(config(tmp_path / "missing", resume=True), said.append)
    prepare_output_dir(config(tmp_path, resume=True), said.append)
    assert len(said) == 2 and all("starting from step 0" in s for s in said)


def test_resume_needs_a_checkpoint_in_a_non_empty_dir(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("")
    with pytest.raises(ValueError, match="no checkpoint to resume from"):
        prepare_output_dir(config(tmp_path, resume=True))


def test_resume_refuses_a_config_that_changes_what_the_checkpoint_means(tmp_path):
    fake_run(tmp_path, seed=1)
    with pytest.raises(ValueError) as info:
        check_resumable(config(tmp_path, resume=True, seed=1, tasks_per_step=4, group_size=3), tmp_path)
    message = str(info.value)
    assert "tasks_per_step: 2 -> 4" in message and "group_size: 2 -> 3" in message
    assert "seed" not in message.split("means (")[1].split(")")[0]  # only the keys that differ are named
    # steps, evaluation, logging and output settings may change
    check_resumable(config(tmp_path, resume=True, seed=1, steps=9, eval_every=2, eval_tasks=3, save_every=1,
                           progress=False, log_rollouts=False, num_workers=2), tmp_path)


def test_resume_keys_are_config_fields():
    fields = set(TrainerConfig().to_dict())
    assert set(RESUME_KEYS) <= fields
    assert not {"steps", "eval_every", "progress", "save_every", "output_dir", "resume"} & set(RESUME_KEYS)


def _tiny_policy():
    import torch

    from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=0, num_hidden_layers=1)
    return model, tokenizer, torch.optim.AdamW(model.parameters(), lr=1e-3)


@pytest.mark.parametrize("damage", ["truncated_state", "bad_json"])
def test_a_corrupt_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, damage):
    model, tokenizer, optimizer = _tiny_policy()
    for step in (1, 2):
        save_checkpoint(tmp_path / "checkpoints" / f"step-{step:06d}", step=step, model=model, tokenizer=tokenizer,
                        optimizer=optimizer, history=[{"step": step}])
    latest = tmp_path / "checkpoints" / "step-000002"
    if damage == "truncated_state":
        data = (latest / "trainer_state.pt").read_bytes()
        (latest / "trainer_state.pt").write_bytes(data[: len(data) // 2])
    else:
        (latest / "trainer_state.json").write_text('{"step": 2, "hist')
    with pytest.warns(CorruptCheckpointWarning, match="step-000002 is unreadable"):
        path, state = load_latest_checkpoint(tmp_path, model=model, optimizer=optimizer)
    assert path.name == "step-000001" and state["step"] == 1

    (tmp_path / "checkpoints" / "step-000001" / "trainer_state.json").write_text("[]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptCheckpointWarning)
        with pytest.raises(CorruptCheckpointError, match="no checkpoint in .* can be read"):
            load_latest_checkpoint(tmp_path, model=model, optimizer=optimizer)


def test_resume_end_to_end_says_what_it_does(tmp_path, capfd):
    """A run with a checkpoint per step; resuming it at its last step says there is nothing to train; with its
    latest checkpoint corrupted, resume warns, continues from the one before, and metrics.jsonl reads as one
    run; the learning curves cover the whole history."""
    out = tmp_path / "run"
    with Trainer(config(out, steps=2, save_every=1, progress=False)) as trainer:
        trainer.train()
    with Trainer(config(out, steps=2, resume=True, progress=False)) as trainer:
        assert trainer.step == 2
        history = trainer.train()
    err = capfd.readouterr().err
    assert "resuming from step-000002" in err and "nothing to train" in err and "steps=2" in err
    assert [r["step"] for r in history] == [1, 2]

    state = out / "checkpoints" / "step-000002" / "trainer_state.pt"
    state.write_bytes(state.read_bytes()[:1000])
    (out / "curves.png").unlink()
    with pytest.warns(CorruptCheckpointWarning):
        trainer = Trainer(config(out, steps=2, resume=True, progress=False))
    with trainer:
        assert trainer.step == 1
        trainer.train()
    assert "resuming from step-000001" in capfd.readouterr().err
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2]
    assert (out / "curves.png").stat().st_size > 5_000
    assert (out / "checkpoints" / "step-000002" / "trainer_state.json").exists()  # the corrupt one re-saved


def test_the_demo_runs_twice_into_the_same_directory_with_the_same_numbers(tmp_path, capfd):
    """The demo owns its directories (overwrite): a second run replaces the first and reproduces it."""
    from densegym.trainers.demo import run_demo

    first = run_demo(tmp_path, steps=1, seed=0, seeds=2, arms=("outcome",), quick=True)
    second = run_demo(tmp_path, steps=1, seed=0, seeds=2, arms=("outcome",), quick=True)
    volatile = ("time/", "throughput/")
    for seed in first.histories["outcome"]:
        strip = [{k: v for k, v in r.items() if not k.startswith(volatile)} for r in first.histories["outcome"][seed]]
        assert strip == [{k: v for k, v in r.items() if not k.startswith(volatile)}
                         for r in second.histories["outcome"][seed]]
    assert first.warm_start.accuracy == second.warm_start.accuracy
    assert "overwrite: removed" in capfd.readouterr().err


def test_the_command_line_refuses_to_mix_runs_and_touches_nothing(tmp_path):
    from tests.trainers.test_cli_train import densegym

    out = tmp_path / "run"
    fake_run(out)
    before = (out / "metrics.jsonl").read_text()
    proc = densegym("train", str(out / "config.yaml"), f"output_dir={out}", "steps=2")
    assert proc.returncode != 0
    assert "is not empty" in proc.stderr and "resume=true" in proc.stderr and "overwrite=true" in proc.stderr
    assert "loading model" not in proc.stderr  # refused before anything slow
    assert (out / "metrics.jsonl").read_text() == before
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-000001"]
