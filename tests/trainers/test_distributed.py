"""Two training processes on the CPU (gloo over 127.0.0.1), launched as a user launches them:
``accelerate launch --multi_gpu --num_processes 2 -m densegym train CONFIG.yaml``.

``--multi_gpu`` is accelerate's flag for its torchrun launcher (N local processes); ``--cpu`` would start one
process only, unless MPI is set up. With ``device=cpu`` the processes use gloo on the CPU.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import require

torch = pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(*target: str, processes: int = 2, timeout: float = 240) -> subprocess.CompletedProcess:
    """``accelerate launch ... TARGET`` (``-m densegym train CONFIG ...`` or a script and its arguments)."""
    port = free_port()
    env = {
        **os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "GLOO_SOCKET_IFNAME": "lo",
    }
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_ip", "127.0.0.1", "--main_process_port", str(port),
        *target,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL)


def test_two_processes_train_one_policy_with_averaged_gradients(tmp_path):
    require(importlib.util.find_spec("accelerate") is not None, "accelerate", "pip install 'densegym[train]'")
    config = tmp_path / "letter.yaml"
    config.write_text(
        "env: tests.trainers.envs:LetterEnv\nmodel: tiny\nmodel_config: {num_hidden_layers: 1}\ndevice: cpu\n"
        "steps: 2\ntasks_per_step: 2\ngroup_size: 2\nmax_turns: 2\nmax_new_tokens: 4\nlr: 1.0e-2\n"
        "estimator: turn\nprogress: false\n"
    )
    out_dir = tmp_path / "run"
    proc = launch("-m", "densegym", "train", str(config), f"output_dir={out_dir}")
    assert proc.returncode == 0, proc.stderr[-4000:]

    # rank 0 alone logs: one line per step, and the CLI's summary once
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    assert proc.stdout.count("metrics.jsonl") == 1
    for r in records:
        assert r["world_size"] == 2
        assert r["trajectories"] == 4  # 2 tasks x 2 samples: one task per rank, counted over both ranks
        # the replicas hold identical weights after every update although each rank learned from its own
        # episodes: each applied the average of both ranks' gradients
        assert r["dist/weight_spread"] == 0.0

    # each rank played its own slice of the step's tasks and wrote it
    for step in (1, 2):
        shares = [out_dir / "rollouts" / f"step-{step:06d}.jsonl", out_dir / "rollouts" / f"step-{step:06d}.rank1.jsonl"]
        tasks = [{json.loads(line)["task_id"] for line in p.read_text().splitlines()} for p in shares]
        assert [len(t) for t in tasks] == [1, 1]
        assert tasks[0] != tasks[1]

    # one checkpoint, written by rank 0, holding a policy that moved away from the initial weights
    checkpoint = out_dir / "checkpoints" / "step-000002"
    assert (checkpoint / "trainer_state.pt").exists()
    assert not list((out_dir / "checkpoints").glob("*.tmp"))
    from transformers import AutoModelForCausalLM

    from densegym.models.tiny import build_tiny_model, build_tiny_tokenizer

    initial = build_tiny_model(build_tiny_tokenizer(), seed=0, num_hidden_layers=1).state_dict()
    trained = AutoModelForCausalLM.from_pretrained(checkpoint / "policy").state_dict()
    assert set(initial) <= set(trained)
    assert any(not torch.equal(initial[k], trained[k]) for k in initial)


def test_a_rank_without_rows_still_joins_the_gradient_average(tmp_path):
    """Rank 1 has nothing to learn from in this update: it must still all-reduce (a zero gradient), so that rank 0
    does not wait forever, and both ranks end with the same, updated weights (rank 0's gradient, averaged)."""
    require(importlib.util.find_spec("accelerate") is not None, "accelerate", "pip install 'densegym[train]'")
    proc = launch(str(REPO / "tests" / "trainers" / "ddp_idle_rank.py"), str(tmp_path / "run"), timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    reports = [json.loads((tmp_path / "run" / f"report-rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in reports] == [0, 1]
    assert reports[0]["rows"] > 0 and reports[1]["rows"] == 0
    assert all(r["changed"] for r in reports)  # rank 1 applied rank 0's gradient
    assert reports[0]["spread"] == reports[1]["spread"] == 0.0
    assert reports[0]["metric_keys"] == reports[1]["metric_keys"]  # the idle rank reports the same metrics
