"""A newcomer's first hour with ``densegym train``: config errors named early and in one line, the ``quick``
preset, progress on stderr from the first second, and the metrics that explain a run (every reward channel the
estimator read, the advantage statistics, the learning curves)."""

from __future__ import annotations

import dataclasses
import json
import re
import sys

import numpy as np
import pytest

pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")

from densegym.trainers.batch import turn_rows  # noqa: E402
from densegym.trainers.config import TrainerConfig, quick_settings  # noqa: E402
from densegym.trainers.metrics_log import MetricsLog  # noqa: E402
from densegym.trainers.progress import Progress  # noqa: E402
from densegym.trainers.trainer import Trainer, advantage_metrics, check_reward_weights  # noqa: E402
from tests.trainers.helpers import traj  # noqa: E402
from tests.trainers.test_cli_train import densegym  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LETTER = dict(env="tests.trainers.envs:LetterEnv", tasks_per_step=2, group_size=2, max_turns=2, max_new_tokens=4,
              model_config={"num_hidden_layers": 1}, lr=1e-2, steps=1)


# ---- errors, early and named -----------------------------------------------------------------------------


@pytest.mark.parametrize("key, value, message", [
    ("steps", "one", "steps must be an integer, got 'one'"),
    ("steps", True, "steps must be an integer, got True"),
    ("lr", "fast", "lr must be a number, got 'fast'"),
    ("resume", "yes please", "resume must be true or false, got 'yes please'"),
    ("task_pool", 2.5, "task_pool must be an integer or null, got 2.5"),
    ("progress", 1, "progress must be true or false or null, got 1"),
])
def test_scalar_fields_are_type_checked_by_name(key, value, message):
    with pytest.raises(ValueError) as info:
        TrainerConfig(**{key: value})
    assert str(info.value) == message


def test_integers_and_null_pass_where_numbers_and_optionals_are_allowed():
    config = TrainerConfig(lr=1, temperature=0, task_pool=None, rollout_max_batch=None, progress=None)
    assert (config.lr, config.task_pool) == (1, None)


def test_malformed_yaml_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("steps: 2\nlr: 1.0e-3\nlora: {r: 8\nseed: 1\n")
    with pytest.raises(ValueError) as info:
        TrainerConfig.from_yaml(path)
    assert str(path) in str(info.value) and "line 4" in str(info.value)


def test_a_malformed_override_value_names_the_override():
    with pytest.raises(ValueError, match=r"override 'lora=\{r: 8': the value is not valid YAML"):
        TrainerConfig.from_yaml(None, ["lora={r: 8"])


def test_a_reward_weights_typo_fails_when_the_pool_starts_naming_the_components(tmp_path):
    config = TrainerConfig(**LETTER, output_dir=str(tmp_path / "run"), progress=False,
                           reward_weights={"hitt": 1.0, "outcome": 1.0})
    with pytest.raises(ValueError, match=r"reward_weights names \['hitt'\].*components are \['hit', 'outcome'\]"):
        Trainer(config)  # in the constructor: before the warm start and any rollout
    assert not (tmp_path / "run" / "rollouts").exists()


def test_check_reward_weights_accepts_known_components_and_refuses_non_numbers():
    hooks = {"hit": {}, "outcome": {}}
    check_reward_weights(hooks, {"hit": 1, "outcome": 0.5})
    check_reward_weights({}, {"anything": 1.0})  # an env without a reward set: reweight checks per turn
    with pytest.raises(ValueError, match="reward_weights.hit must be a number"):
        check_reward_weights(hooks, {"hit": "high"})


def test_a_model_that_is_neither_a_directory_nor_cached_says_what_to_pass(tmp_path):
    import torch

    from densegym.trainers.trainer import load_policy

    with pytest.raises(OSError) as info:
        load_policy(TrainerConfig(model=str(tmp_path / "no-such-model")), torch.device("cpu"))
    message = str(info.value)
    assert "not a local model directory" in message and "local Hugging Face cache" in message
    assert "Reason:" in message and info.value.__cause__ is not None


# ---- the quick preset ------------------------------------------------------------------------------------


def test_quick_shrinks_a_bundled_config_and_explicit_overrides_win():
    full = TrainerConfig.from_yaml("sokoban_turn")
    quick = TrainerConfig.from_yaml("sokoban_turn", ["quick=true"])
    assert quick.quick and quick.steps == 2
    assert quick.tasks_per_step <= 4 and quick.group_size <= 2 and quick.eval_tasks <= 4 and quick.eval_samples == 1
    assert quick.sft["epochs"] == 1 and quick.sft["episodes"] <= 16 and quick.sft["lr"] == full.sft["lr"]
    assert quick.output_dir == full.output_dir + "-quick"
    assert (quick.env, quick.estimator, quick.reward_weights) == (full.env, full.estimator, full.reward_weights)
    mine = TrainerConfig.from_yaml("sokoban_turn", ["quick=true", "steps=3", "output_dir=/tmp/x"])
    assert (mine.steps, mine.output_dir) == (3, "/tmp/x")
    assert quick_settings(quick.to_dict())["output_dir"] == quick.output_dir  # reading it back: the same dir


def test_quick_without_sft_or_evaluation_adds_neither():
    config = TrainerConfig.from_dict({"quick": True, "sft": None, "eval_every": 0})
    assert (config.sft, config.eval_every, config.steps) == (None, 0, 2)


def test_quick_runs_a_bundled_config_from_the_command_line(tmp_path):
    out = tmp_path / "quick"
    proc = densegym("train", "sokoban_turn", "quick=true", f"output_dir={out}", "num_workers=1", timeout=600)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in records) == 2
    assert next(r for r in records if "sft/demonstrations" in r)["sft/demonstrations"] <= 16
    assert (out / "curves.png").exists()
    err = proc.stderr
    assert err.index("densegym train:") < err.index("loading model") < err.index("warm start:")
    assert "step 2/2: collect 8 episodes ..." in err and "evaluation, 4 tasks x 1 samples" in err


# ---- progress ----------------------------------------------------------------------------------------------


def test_progress_lines_when_not_a_terminal(capsys):
    report = Progress(None)  # pytest's stderr is not a terminal
    assert not report.bars and not report.quiet
    with report.phase("step 1/2: collect 4 episodes", total=4) as phase:
        phase.update(4)
        phase.note = "success 0.50"
    err = capsys.readouterr().err
    assert err.startswith("step 1/2: collect 4 episodes ... ") and err.endswith(" s (success 0.50)\n")
    assert err.count("\n") == 1


def test_progress_bars_when_asked_and_plain_lines_without_tqdm(capsys, monkeypatch):
    report = Progress(True)
    assert report.bars
    with report.phase("warm start: SFT", total=3, unit="batch") as phase:
        for _ in range(3):
            phase.update(1, loss=0.5)
        assert phase.bar.n == 3
    err = capsys.readouterr().err
    assert "warm start: SFT:   0%" in err and "0/3" in err  # a tqdm bar (it redraws at most every 0.1 s)
    assert re.search(r"\rwarm start: SFT \.\.\. [0-9.]+ s\n$", err)  # then the phase's line
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # tqdm not installed: import fails
    assert not Progress(True).bars


def test_progress_false_is_silent_but_notices_still_show(capsys):
    report = Progress(False)
    with report.phase("collect"):
        pass
    report.say("hello")
    report.notice("resuming from step-000001")
    assert capsys.readouterr().err == "resuming from step-000001\n"


def test_a_run_reports_every_phase_from_before_the_model_loads(tmp_path, capfd):
    config = TrainerConfig(**{**LETTER, "steps": 2}, output_dir=str(tmp_path / "run"), eval_every=2, eval_tasks=2,
                           transforms=[{"name": "gated", "channels": ["outcome", "hit"], "thresholds": [0.5]}])
    with Trainer(config) as trainer:
        history = trainer.train()
    err = capfd.readouterr().err
    lines = err.splitlines()
    assert lines[0].startswith("densegym train: grpo on tests.trainers.envs:LetterEnv")
    assert lines[1].startswith("loading model tiny ... ")
    for text in ("starting 4 envs", "step 0/2: evaluation, 2 tasks x 1 samples ...", "step 1/2: collect 4 episodes",
                 "step 2/2: update on", "step 2/2: evaluation"):
        assert text in err, text
    # the metrics: the gated channel the estimator read, the advantage statistics
    last = history[-1]
    assert "components/gated" in last and "components/hit" in last
    assert {"adv/mean", "adv/std", "adv/abs_max", "adv/zero_spread_groups"} <= set(last)
    assert 0.0 <= last["adv/zero_spread_groups"] <= 1.0
    logged = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert logged["components/gated"] == last["components/gated"]
    assert (tmp_path / "run" / "curves.png").stat().st_size > 5_000
    console = next(line for line in lines if line.startswith("step    2"))
    assert console.count("outcome=") == 1


# ---- metrics -----------------------------------------------------------------------------------------------


def test_advantage_metrics_count_the_groups_that_teach_nothing():
    batch = [traj("a", [1, 0]), traj("a", [1, 0]), traj("b", [1]), traj("b", [0])]
    for t in batch:
        for turn in t.turns:
            turn.prompt_ids, turn.action_ids = [0], [1, 2]
    rows = turn_rows(batch)
    advantages = [np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), np.full(2, 1.0), np.full(2, -1.0)]
    metrics = advantage_metrics(batch, rows, list(range(len(rows))), advantages)
    assert metrics["adv/zero_spread_groups"] == 0.5  # group a: all zero; group b: +1 / -1
    assert metrics["adv/abs_max"] == 1.0 and metrics["adv/mean"] == 0.0
    assert metrics["adv/std"] == pytest.approx(np.std([0, 0, 0, 0, 1, -1]))
    masked = advantage_metrics(batch, rows, [0, 1, 2, 3], advantages)  # group b's turns masked out
    assert masked["adv/zero_spread_groups"] == 1.0


def test_the_console_line_prints_each_channel_once(tmp_path, capsys):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    log.log(3, {"success": 0.5, "outcome": 0.25, "components/outcome": 0.25, "components/progress": 1.5})
    log.close()
    line = capsys.readouterr().err
    assert line.count("outcome=") == 1 and "progress=+1.500" in line


def test_the_curves_are_skipped_with_a_note_without_matplotlib(tmp_path, capsys, monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed: the import fails
    trainer = SimpleNamespace(runtime=SimpleNamespace(is_main=True), history=[{"step": 1, "success": 0.5}],
                              progress=Progress(None), output_dir=tmp_path, config=TrainerConfig())
    assert Trainer.write_curves(trainer) is None
    assert "curves.png skipped: it needs matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "curves.png").exists()


def test_a_quick_config_written_out_reads_back_as_the_same_run(tmp_path):
    config = TrainerConfig.from_yaml("sokoban_turn", ["quick=true", "steps=3"])
    assert (config.quick, config.steps) == (True, 3)
    config.to_yaml(tmp_path / "config.yaml")
    again = TrainerConfig.from_yaml(tmp_path / "config.yaml")
    assert dataclasses.replace(again, quick=True) == config  # steps=3 stays 3: the preset is not applied again
