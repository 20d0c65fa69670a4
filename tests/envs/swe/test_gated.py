"""G-RA on real SWE episodes (local executor): the default levels gate the step rewards (docs/algorithms.md
section 3(e)), and the bundled swe_gated config validates and trains a smoke-level step on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from densegym.envs.swe import SWEEnv
from densegym.envs.swe.task import bundled_task
from densegym.episode import run_episode
from densegym.rewards.transforms import GatedConfig, gated_accumulation
from tests.helpers import require_import

from .conftest import require_executor, sample_ids

REPO = Path(__file__).resolve().parents[3]
LOW = ["tests", "regression", "localization", "format"]
GATE = GatedConfig(channels=("level", LOW), thresholds=(2.0,))


class Script:
    def __init__(self, actions):
        self.actions = list(actions)

    def act(self, env, observation):
        action = self.actions.pop(0)
        return action(env) if callable(action) else action


def fix(env):
    return env.oracle_action()


def test_step_rewards_count_only_after_a_non_empty_submission():
    require_executor("local")
    task_id = sample_ids(1, seed=40, difficulty=(1, 2))[0]
    env = SWEEnv(executor="local", max_turns=3)
    try:
        undo = lambda env: f"<action>undo_edit {min(env.task.gold_files)}</action>"
        episodes = {
            # fixes the bug, then runs out of turns without submitting: level 0
            "no_submit": run_episode(env, Script([fix, "<action>view README.md</action>", "<action>find def </action>"]),
                                     options={"task": task_id}),
            # fixes it, takes it back, submits nothing: level 1
            "empty": run_episode(env, Script([fix, undo, "<action>submit</action>"]), options={"task": task_id}),
            "solved": run_episode(env, Script([fix, "<action>submit</action>"]), options={"task": task_id}),
        }
    finally:
        env.close()
    levels = {k: sum(t.components["level"] for t in traj.turns) for k, traj in episodes.items()}
    assert levels == {"no_submit": 0.0, "empty": 1.0, "solved": 3.0}
    assert episodes["no_submit"].turns[0].components["tests"] == 1.0  # the raw step reward was earned ...
    gated = dict(zip(episodes, gated_accumulation(list(episodes.values()), GATE)))
    assert not gated["no_submit"].any() and not gated["empty"].any()  # ... and counts for nothing without a patch
    raw = [sum(t.components[c] for c in LOW) for t in episodes["solved"].turns]
    assert list(gated["solved"]) == pytest.approx(raw) and raw[0] > 1.0


def test_the_swe_gated_config_trains_a_step_on_cpu(tmp_path):
    require_import("torch", "pip install 'densegym[train]'")
    require_executor("local")
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    overrides = ["steps=1", "tasks_per_step=1", "group_size=2", "max_turns=2", "max_new_tokens=8", "eval_every=0",
                 "env_kwargs.executor=local", f"output_dir={out}", "progress=false"]  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "densegym", "train", "swe_gated", *overrides], capture_output=True,
                          text=True, timeout=600, cwd=REPO, env=env, stdin=subprocess.DEVNULL, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (record,) = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert record["step"] == 1 and "components/gated" in record and "components/level" in record
    rollouts = [json.loads(line) for line in next((out / "rollouts").glob("step-*.jsonl")).read_text().splitlines()]
    assert len(rollouts) == 2 and all("level" in turn["components"] for r in rollouts for turn in r["turns"])
    assert all(r["privileged"]["gold_patch"] not in r["turns"][0]["observation"] for r in rollouts)
    assert bundled_task(rollouts[0]["task_id"]).project in rollouts[0]["turns"][0]["observation"]
