"""The bundled search configs: both load and validate, and IGPO on SearchQA runs a smoke-level training step with
the tiny model on CPU (the information gain reaches the turns)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


from tests.helpers import require_import

require_import("torch", "pip install 'densegym[train]'")

from densegym.trainers.config import TrainerConfig  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / "densegym" / "configs"


def test_both_configs_load_and_differ_only_in_the_estimator():
    igpo, grpo = TrainerConfig.from_yaml(CONFIGS / "search_igpo.yaml"), TrainerConfig.from_yaml(CONFIGS / "search_grpo.yaml")
    assert (igpo.estimator, grpo.estimator) == ("igpo", "grpo")
    assert igpo.env == grpo.env and igpo.env_kwargs == grpo.env_kwargs and igpo.model == grpo.model == "tiny"
    assert igpo.answer_key == "answer"


def test_igpo_config_trains_one_step_on_cpu(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DENSEGYM_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    overrides = ["steps=1", "tasks_per_step=2", "group_size=2", "max_new_tokens=8", "sft=null", "eval_every=0",
                 "env_kwargs.num_docs=600", f"output_dir={out}", "progress=false"]  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "densegym", "train", str(CONFIGS / "search_igpo.yaml"), *overrides],
                          capture_output=True, text=True, timeout=600, cwd=REPO, env=env, stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (record,) = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert record["step"] == 1 and record["components/info_gain"] != 0.0
    rollouts = [json.loads(line) for line in next((out / "rollouts").glob("step-*.jsonl")).read_text().splitlines()]
    assert len(rollouts) == 4 and all(r["privileged"]["answer"] and r["privileged"]["gold_docs"] for r in rollouts)
    assert all(r["privileged"]["answer"] not in r["turns"][0]["observation"] for r in rollouts)
