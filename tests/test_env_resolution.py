"""One env resolution for every command: a registered id, ``module:id``, ``module:Class``, ``--import``.

A real custom env module is written to ``tmp_path`` and used both in this process (the resolver) and through
the command line in subprocesses, whose env workers are spawned fresh interpreters: the module must be
imported there too.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import uuid

import gymnasium as gym
import pytest

from densegym.envs.resolve import EnvFactory, EnvSpecError, resolve_env
from densegym.trajectory import read_jsonl

# A complete custom env: guess a hidden number in 1..high; the oracle bisects. It registers NAME/Guess-v0.
CUSTOM_ENV = '''
import gymnasium as gym
from densegym.envs import ActionError, StepOutcome, TextEnv, extract_tag
from densegym.rewards import RewardSet, format_reward, outcome_reward


class GuessEnv(TextEnv):
    has_oracle = True
    default_max_turns = 12

    def __init__(self, high: int = 50, *, max_turns=None, rewards=None):
        self.high = int(high)
        super().__init__(max_turns=max_turns, rewards=rewards)
        self.secret, self.lo, self.hi = 0, 1, self.high

    def default_rewards(self):
        return RewardSet({"format": (format_reward(), 0.1), "outcome": (outcome_reward(), 1.0)})

    def sample_task(self, rng):
        return int(rng.integers(1, self.high + 1))

    def start(self, task):
        self.secret, self.lo, self.hi = task, 1, self.high
        return f"Guess my number from 1 to {self.high}. " + self.action_help()

    def action_help(self):
        return "Answer <action>N</action>."

    def parse_action(self, text):
        body = extract_tag(text)
        if body is None or not body.strip().isdigit():
            raise ActionError("expected a number")
        return int(body)

    def apply_action(self, guess):
        if guess == self.secret:
            return StepOutcome("Correct!", terminated=True, success=True, outcome=1.0)
        if guess < self.secret:
            self.lo = max(self.lo, guess + 1)
            return StepOutcome("higher")
        self.hi = min(self.hi, guess - 1)
        return StepOutcome("lower")

    def state_view(self):
        return (self.lo, self.hi)

    def anchor(self):
        return f"{self.lo}-{self.hi}"

    def oracle_action(self):
        return f"<action>{(self.lo + self.hi) // 2}</action>"


class OpenKwargsEnv(GuessEnv):
    def __init__(self, **anything):
        super().__init__()


if "NAME/Guess-v0" not in gym.registry:
    gym.register("NAME/Guess-v0", entry_point="NAME:GuessEnv")
'''


def write_custom_env(directory, name: str | None = None) -> str:
    """Write the custom env module as ``directory/NAME.py`` (a fresh name: this process keeps its registry)."""
    name = name or f"mygames_{uuid.uuid4().hex[:8]}"
    (directory / f"{name}.py").write_text(CUSTOM_ENV.replace("NAME", name), encoding="utf-8")
    return name


@pytest.fixture
def custom(tmp_path, monkeypatch):
    """The name of a custom env module importable in this process (its directory on sys.path)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return write_custom_env(tmp_path)


def densegym(*args: str, cwd=None, pythonpath=None, stdin: str = "") -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    else:
        env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, "-m", "densegym", *args], input=stdin, capture_output=True, text=True,
                          timeout=180, cwd=cwd, env=env)


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


# ---- the resolver, in this process ---------------------------------------------------------------------


def test_a_registered_id_goes_to_the_pool_as_it_is():
    r = resolve_env("densegym/Sokoban-small-v0", {"num_boxes": 1})
    assert (r.id, r.label, r.kwargs) == ("densegym/Sokoban-small-v0", "densegym/Sokoban-small-v0", {"num_boxes": 1})
    assert r.pool_source() == ("densegym/Sokoban-small-v0", {"num_boxes": 1})
    env = r.make()
    assert env.unwrapped.num_boxes == 1 and env.unwrapped.dim_room == (6, 6)  # registered + given kwargs
    env.close()


def test_the_densegym_module_prefix_is_the_same_id():
    r = resolve_env("densegym:densegym/Sokoban-v0")
    assert r.id == "densegym/Sokoban-v0" and r.pool_source() == ("densegym/Sokoban-v0", {})


def test_module_id_form_imports_the_module_and_builds_in_workers(custom):
    r = resolve_env(f"{custom}:{custom}/Guess-v0", {"high": 8})
    assert r.id == f"{custom}/Guess-v0" and r.label == f"{custom}/Guess-v0"
    source, kwargs = r.pool_source()
    assert kwargs is None and isinstance(source, EnvFactory)
    assert custom in source.imports  # redone in each worker, whose registry starts empty
    env = pickle.loads(pickle.dumps(source))()
    assert type(env.unwrapped).__name__ == "GuessEnv" and env.unwrapped.high == 8
    assert env.spec.id == f"{custom}/Guess-v0"


def test_import_option_then_the_bare_id(custom):
    r = resolve_env(f"{custom}/Guess-v0", imports=[custom])
    assert r.id == f"{custom}/Guess-v0"
    assert custom in r.pool_source()[0].imports


def test_module_class_form(custom):
    r = resolve_env(f"{custom}:GuessEnv", {"high": 5})
    assert r.id is None and r.label == f"{custom}:GuessEnv"
    env = r.make()
    assert type(env).__name__ == "GuessEnv" and env.high == 5
    built = pickle.loads(pickle.dumps(r.pool_source()[0]))()
    assert type(built).__name__ == "GuessEnv" and built.high == 5


def test_a_py_file_builds_in_a_fresh_interpreter_without_pythonpath(tmp_path):
    """The factory an EnvPool worker runs: it loads the file itself (the worker's sys.path lacks its dir)."""
    name = write_custom_env(tmp_path)
    factory, _ = resolve_env(f"{tmp_path / name}.py:GuessEnv", {"high": 7}).pool_source()
    (tmp_path / "factory.pkl").write_bytes(pickle.dumps(factory))
    code = ("import pickle, sys; f = pickle.load(open(sys.argv[1], 'rb')); e = f(); o, _ = e.reset(seed=0); "
            "print(type(e).__name__, e.high, o.split('.')[0])")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "factory.pkl")], capture_output=True,
                          text=True, timeout=60, cwd="/")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["GuessEnv", "7", "Guess", "my", "number", "from", "1", "to", "7"]


def test_unknown_ids_list_the_known_ones_and_hint_at_imports():
    with pytest.raises(EnvSpecError) as info:
        resolve_env("mywordle/Wordle-v0")
    message = str(info.value)
    assert "unknown env id 'mywordle/Wordle-v0'" in message and "densegym/Sokoban-v0" in message
    assert "MODULE:mywordle/Wordle-v0" in message and "--import MODULE" in message
    with pytest.raises(EnvSpecError) as info:
        resolve_env("densegym/Sokobn-v0")
    message = str(info.value)
    assert "did you mean 'densegym/Sokoban-v0'?" in message
    assert "--import" not in message  # densegym's own namespace: no module of the user's is missing


def test_a_module_that_does_not_define_the_name(custom):
    with pytest.raises(EnvSpecError, match=f"importing '{custom}' did not register it") as info:
        resolve_env(f"{custom}:NoSuchEnv")
    assert f"{custom}/Guess-v0" in str(info.value)  # the ids known now include the ones it registered


def test_import_failures_are_one_line(tmp_path, monkeypatch):
    with pytest.raises(EnvSpecError, match="cannot import 'no_such_module_xyz': no module named"):
        resolve_env("no_such_module_xyz:ns/X-v0")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "raises_on_import.py").write_text("raise RuntimeError('half-written module')\n")
    with pytest.raises(EnvSpecError, match="importing 'raises_on_import' failed: RuntimeError: half-written module"):
        resolve_env("densegym/Sokoban-v0", imports=["raises_on_import"])
    with pytest.raises(EnvSpecError, match="no such file"):
        resolve_env("x/Y-v0", imports=[str(tmp_path / "missing.py")])
    (tmp_path / "json.py").write_text("")  # its name is taken: loading it would replace the json module
    with pytest.raises(EnvSpecError, match="a module named 'json' is already imported .*; rename the file"):
        resolve_env("x/Y-v0", imports=[str(tmp_path / "json.py")])


def test_an_unknown_kwarg_names_the_valid_ones(custom):
    with pytest.raises(EnvSpecError) as info:
        resolve_env("densegym/Sokoban-v0", {"dimroom": [5, 5]})
    message = str(info.value)
    assert "env kwarg 'dimroom' is not accepted by densegym/Sokoban-v0 (SokobanEnv)" in message
    assert "did you mean 'dim_room'?" in message
    # SokobanEnv's own parameters, TextEnv's (reached through **kwargs), and gym.make's
    for name in ("dim_room", "num_boxes", "max_action_chars", "max_episode_steps"):
        assert name in message.split("valid kwargs:")[1]
    resolve_env("densegym/Sokoban-v0", {"max_action_chars": 100, "max_episode_steps": 3})  # all accepted
    with pytest.raises(EnvSpecError, match="valid kwargs: high, max_turns, rewards$"):
        resolve_env(f"{custom}:GuessEnv", {"hgh": 3})
    resolve_env(f"{custom}:OpenKwargsEnv", {"anything": 1})  # **kwargs with no base to follow: not checked


def test_bad_specs():
    for spec in ("", ":x", "mod:"):
        with pytest.raises(EnvSpecError):
            resolve_env(spec)
    with pytest.raises(EnvSpecError, match="a file needs the id or class after it"):
        resolve_env("env.py")


# ---- the command line, in subprocesses -----------------------------------------------------------------


def test_eval_module_id(tmp_path):
    name = write_custom_env(tmp_path)
    out = tmp_path / "t.jsonl"
    stdout = ok(densegym("eval", f"{name}:{name}/Guess-v0", "--episodes", "3", "--kwargs", '{"high": 20}',
                         "--out", str(out), "--json", str(tmp_path / "m.json"), pythonpath=tmp_path))
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["success"] == 1.0 and report["episodes"] == 3 and report["failed"] == 0
    assert set(report["components"]) == {"format", "outcome"}
    trajs = list(read_jsonl(out))
    assert [t.env_id for t in trajs] == [f"{name}/Guess-v0"] * 3
    assert "evaluation of oracle" in stdout


def test_rollout_with_import_of_a_file_and_the_class_form(tmp_path):
    name = write_custom_env(tmp_path)
    out = tmp_path / "t.jsonl"
    ok(densegym("rollout", f"{name}:GuessEnv", "--import", str(tmp_path / f"{name}.py"), "--episodes", "2",
                "--kwargs", '{"high": 4}', "--out", str(out), cwd="/"))
    trajs = list(read_jsonl(out))
    assert len(trajs) == 2 and all(t.success for t in trajs)
    assert trajs[0].env_id == f"{name}:GuessEnv"
    assert all(len(t.turns) <= 3 for t in trajs)  # bisection of 1..4: the kwarg reached the workers' envs


def test_import_option_with_a_module_in_the_current_directory(tmp_path):
    """`--import MODULE` finds a module in the current directory (the `densegym` script does not put it on
    sys.path), and the spawned workers find it too."""
    name = write_custom_env(tmp_path)
    stdout = ok(densegym("eval", "--import", name, f"{name}/Guess-v0", "--episodes", "2", "--json",
                         str(tmp_path / "m.json"), cwd=tmp_path))
    assert json.loads((tmp_path / "m.json").read_text())["success"] == 1.0
    assert f"{name}/Guess-v0: evaluation of oracle" in stdout


def test_play_and_demo_take_module_ids(tmp_path):
    name = write_custom_env(tmp_path)
    out = ok(densegym("play", f"{name}:{name}/Guess-v0", "--seed", "0", "--kwargs", '{"high": 3}',
                      stdin="1\n2\n3\n", pythonpath=tmp_path))
    assert "Guess my number from 1 to 3" in out
    assert "episode over: success=True" in out
    out = ok(densegym("demo", "--env-id", f"{name}/Guess-v0", "--import", name, "--episodes", "2", "--out-dir",
                      str(tmp_path / "demo"), "--no-train", pythonpath=tmp_path))
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in (["oracle"], ["random"])}
    assert rows["oracle"][1:3] == ["2", "1.000"]
    assert [t.env_id for t in read_jsonl(tmp_path / "demo" / "oracle.jsonl")] == [f"{name}/Guess-v0"] * 2


def test_eval_of_the_densegym_prefixed_id(tmp_path):
    ok(densegym("eval", "densegym:densegym/Sokoban-v0", "--episodes", "2", "--kwargs", '{"num_boxes": 1}',
                "--json", str(tmp_path / "m.json"), "--out", str(tmp_path / "t.jsonl")))
    assert json.loads((tmp_path / "m.json").read_text())["success"] == 1.0
    assert [t.env_id for t in read_jsonl(tmp_path / "t.jsonl")] == ["densegym/Sokoban-v0"] * 2


@pytest.mark.parametrize("command", [
    ("play",), ("rollout", "--episodes", "1"), ("eval", "--episodes", "1"),
])
def test_a_custom_id_without_its_module_says_how_to_import_it(command):
    proc = densegym(command[0], "mywordle/Wordle-v0", *command[1:])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown env id 'mywordle/Wordle-v0'" in proc.stderr and "densegym/Sokoban-v0" in proc.stderr
    assert "write MODULE:mywordle/Wordle-v0 or pass --import MODULE" in proc.stderr


def test_every_episode_failed_exits_1_with_the_first_reason(tmp_path):
    (tmp_path / "broken_env.py").write_text(textwrap.dedent("""
        from densegym.envs.sokoban.env import SokobanEnv

        class Broken(SokobanEnv):
            def reset(self, *, seed=None, options=None):
                raise RuntimeError("the level file is gone")
        """))
    for command in ("eval", "rollout"):
        proc = densegym(command, "broken_env:Broken", "--episodes", "2", pythonpath=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert "every episode failed (2); the first: RuntimeError: the level file is gone" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_train_fails_on_an_unknown_env_before_training(tmp_path):
    proc = densegym("train", "sokoban_turn", "env=mywordle/Wordle-v0")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown env id 'mywordle/Wordle-v0'" in proc.stderr
    proc = densegym("train", "sokoban_turn", 'env_kwargs={"dimroom": [5, 5]}')
    assert proc.returncode == 2 and "did you mean 'dim_room'?" in proc.stderr


def test_train_imports_first_and_takes_overrides_after_the_option(tmp_path):
    """`densegym train CONFIG --import M key=value ...`: the overrides after --import count, and the env they
    name is resolved (here: its kwargs checked) with M imported, before any training starts."""
    name = write_custom_env(tmp_path)
    proc = densegym("train", "sokoban_turn", "--import", name, f"env={name}/Guess-v0", 'env_kwargs={"hgh": 3}',
                    cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"env kwarg 'hgh' is not accepted by {name}/Guess-v0 (GuessEnv) (did you mean 'high'?)" in proc.stderr
    proc = densegym("train", "sokoban_turn", "--import", name, "--no-such-option")
    assert proc.returncode == 2 and "unrecognized arguments: --no-such-option" in proc.stderr


@pytest.mark.parametrize("form", ["import", "file_class"])
def test_train_runs_a_custom_env_in_its_workers(tmp_path, form):
    """A custom env trains end to end: its module is imported in the spawned env workers, whichever form
    names it (`--import M` + the bare id, or `file.py:Class`)."""
    pytest.importorskip("torch", reason="the trainer needs torch: pip install 'densegym[train]'")
    name = write_custom_env(tmp_path)
    spec = ["--import", name, f"env={name}/Guess-v0"] if form == "import" else [f"env={tmp_path / name}.py:GuessEnv"]
    out = tmp_path / "run"
    ok(densegym("train", "sokoban_grpo", *spec, 'env_kwargs={"high": 4}', "reward_weights=null", "sft=null",
                "eval_every=0", "steps=1", "tasks_per_step=2", "group_size=2", "model_config={num_hidden_layers: 1}",
                f"output_dir={out}", cwd=tmp_path))
    trajs = list(read_jsonl(out / "rollouts" / "step-000001.jsonl"))
    assert len(trajs) == 4
    assert all(t.turns[0].observation.startswith("Guess my number from 1 to 4") for t in trajs)
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 1
