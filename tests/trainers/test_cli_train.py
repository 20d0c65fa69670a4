"""``densegym train`` and the training part of ``densegym demo``, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

from densegym.trainers.config import TrainerConfig  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def densegym(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}  # tests.trainers.envs for the workers
    return subprocess.run([sys.executable, "-m", "densegym", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env, stdin=subprocess.DEVNULL)


def test_train_runs_a_yaml_config_with_overrides(tmp_path):
    config = tmp_path / "letter.yaml"
    config.write_text(
        "env: tests.trainers.envs:LetterEnv\nmodel: tiny\nmodel_config: {num_hidden_layers: 1}\n"
        "steps: 5\ntasks_per_step: 2\ngroup_size: 2\nmax_turns: 2\nmax_new_tokens: 4\nlr: 1.0e-2\n"
    )
    out_dir = tmp_path / "run"
    proc = densegym("train", str(config), "steps=2", f"output_dir={out_dir}", "estimator=rloo", "tensorboard=true")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]  # the override beat the file's steps: 5
    assert "reward" in proc.stdout and "metrics.jsonl" in proc.stdout
    saved = TrainerConfig.from_yaml(out_dir / "config.yaml")
    assert (saved.estimator, saved.steps) == ("rloo", 2)
    assert (out_dir / "checkpoints" / "step-000002" / "trainer_state.pt").exists()
    assert list((out_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert len(list((out_dir / "rollouts").glob("step-*.jsonl"))) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["{cfg}", "stepz=2"], "unknown config keys ['stepz']"),
        (["{cfg}", "estimator=ppo"], "estimator 'ppo' is unknown"),
        (["{tmp}/missing.yaml"], "no bundled config of that name; bundled: lsp_gated, search_grpo, search_igpo"),
    ],
)
def test_train_fails_clearly_on_a_bad_config(tmp_path, args, message):
    cfg = tmp_path / "ok.yaml"
    cfg.write_text("steps: 1\n")
    proc = densegym("train", *(a.replace("{cfg}", str(cfg)).replace("{tmp}", str(tmp_path)) for a in args))
    assert proc.returncode != 0
    assert message in proc.stderr


def test_every_bundled_config_is_valid():
    configs = sorted((REPO / "configs").glob("*.yaml"))
    assert len(configs) >= 4
    for path in configs:
        TrainerConfig.from_yaml(path)


def test_demo_training_part_writes_the_table_and_the_curves(tmp_path):
    out_dir = tmp_path / "demo"
    proc = densegym("demo", "--quick", "--steps", "1", "--seeds", "2", "--episodes", "2", "--out-dir", str(out_dir))
    assert proc.returncode == 0, proc.stderr
    assert "Warm start: move accuracy against the oracle" in proc.stdout
    table = proc.stdout.split("paired t-test over seeds):")[1]
    header = table.strip().splitlines()[0].split()
    assert header[:3] == ["step", "outcome", "dense"] and "dense - outcome" in table
    steps = [line.split()[0] for line in table.strip().splitlines()[2:] if line[:1].isdigit()]
    assert steps == ["0", "1"]
    assert (out_dir / "curves.png").stat().st_size > 10_000
    report = json.loads((out_dir / "histories.json").read_text())
    histories = report["histories"]
    assert set(histories) == {"outcome", "dense"} and all(set(h) == {"0", "1"} for h in histories.values())
    assert 0.0 <= report["warm_start"]["move_accuracy"]["accuracy"] <= 1.0
    # every arm starts from the same warm-started weights and is evaluated on the same levels and seeds
    for seed in ("0", "1"):
        start = {arm: next(r for r in h[seed] if "eval/success" in r and r["step"] == 0)
                 for arm, h in histories.items()}
        assert start["outcome"] == start["dense"]


def test_bundled_configs_load_by_name_from_the_package():
    from densegym.configs import CONFIG_DIR, bundled_configs

    assert CONFIG_DIR.parent.name == "densegym"  # inside the package: installed as package data
    for name, path in bundled_configs().items():
        by_name = TrainerConfig.from_yaml(name)
        assert by_name == TrainerConfig.from_yaml(path)
        assert by_name == TrainerConfig.from_yaml(f"{name}.yaml")
