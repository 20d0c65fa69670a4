"""The `densegym` command line, run as `python -m densegym` in a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from densegym.envs.registration import ENVS
from densegym.trajectory import read_jsonl
from tests.helpers import require

COMPONENTS = ["progress", "optimal", "deadlock", "format", "outcome"]
# Each family's documented reward components and default weights (README's env table), in the env's order.
DEFAULT_WEIGHTS = {
    "sokoban": "progress=1, optimal=0, deadlock=0, format=0.1, outcome=1",
    "sql": "execution=0.1, schema=0.1, progress=0.5, cte_steps=0.1, redundancy=0.1, format=0.1, outcome=1",
    "lsp": "diagnostics=0.5, safety=0.4, ambiguity=0.1, tests=1, outcome=1, format=0.1",
    "web": "subgoals=1, format=0.1, outcome=1",
    "search": "retrieval=0.5, redundancy=0.1, format=0.1, outcome=1",
    "swe": "tests=1, regression=0.5, localization=0.2, format=0.1, outcome=1, level=0",
}


def densegym(*args: str, stdin: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "densegym", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def test_list_prints_every_id_with_its_components():
    out = ok(densegym("list"))
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("densegym/")}
    assert set(lines) == {e.id for e in ENVS}
    assert {e.family for e in ENVS} == set(DEFAULT_WEIGHTS)
    for e in ENVS:
        assert lines[e.id].split()[1] == e.family
        assert e.summary in lines[e.id]
        assert lines[e.id].endswith(DEFAULT_WEIGHTS[e.family]), lines[e.id]


def test_list_imports_no_env_family_and_nothing_heavy():
    """`list` reads the registry's metadata: it constructs no env, so no family (nor its extra) is imported."""
    code = (
        "import io, contextlib, json, sys\n"
        "from densegym.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('lsprotocol', 'pygls', 'sqlglot',"
        " 'duckdb', 'torch', 'transformers') or m.startswith(('densegym.envs.sokoban', 'densegym.envs.sql',"
        " 'densegym.envs.lsp')))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert json.loads(ok(proc).strip().splitlines()[-1]) == []


def test_list_names_the_extra_of_a_family_that_is_not_installed():
    """Without the lsp extra (its imports blocked), `list` still lists every id and says what to install."""
    code = (
        "import sys; sys.modules['pygls'] = None; sys.modules['lsprotocol'] = None\n"
        "from densegym.cli import main; main(['list'])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    out = ok(proc)
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("densegym/")}
    assert set(lines) == {e.id for e in ENVS}
    for e in ENVS:
        if e.family == "lsp":
            assert lines[e.id].endswith("unavailable: densegym.envs.lsp needs the language-server extra: "
                                        "pip install 'densegym[lsp]'"), lines[e.id]
        else:
            assert lines[e.id].endswith(DEFAULT_WEIGHTS[e.family]), lines[e.id]


def test_version():
    import densegym as pkg

    assert pkg.__version__ in ok(densegym("--version"))


def test_rollout_oracle(tmp_path):
    out_file = tmp_path / "tmp.jsonl"
    out = ok(densegym("rollout", "densegym/Sokoban-small-v0", "--agent", "oracle", "--episodes", "3",
                      "--out", str(out_file), "--json", cwd=tmp_path))
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["agent"] == "oracle" and summary["episodes"] == 3
    assert summary["success"] == 1.0
    assert summary["components"]["progress"] == pytest.approx(1.0)
    assert summary["components"]["outcome"] == pytest.approx(1.0)
    assert "oracle" in out and f"wrote 3 trajectories to {out_file}" in out
    assert len(out_file.read_text(encoding="utf-8").splitlines()) == 3
    trajs = list(read_jsonl(out_file))
    assert len(trajs) == 3
    assert [t.seed for t in trajs] == [0, 1, 2]  # --seed 0 by default, one seed per episode
    assert all(t.success and t.meta["agent"] == "oracle" for t in trajs)
    assert summary["turns"] == pytest.approx(sum(len(t.turns) for t in trajs) / 3)


def test_rollout_random_is_seeded(tmp_path):
    args = ("rollout", "densegym/Sokoban-small-v0", "--agent", "random", "--episodes", "3", "--seed", "7")
    a = ok(densegym(*args, "--out", str(tmp_path / "a.jsonl"), "--json"))
    b = ok(densegym(*args, "--out", str(tmp_path / "b.jsonl"), "--json"))
    sa, sb = (json.loads(o.strip().splitlines()[-1]) for o in (a, b))
    assert sa["agent"] == "random" and sa["episodes"] == 3 and 0.0 <= sa["success"] <= 1.0
    assert set(sa["components"]) == set(COMPONENTS)
    assert sa["components"]["format"] < 0  # random moves walk into walls
    ta, tb = list(read_jsonl(tmp_path / "a.jsonl")), list(read_jsonl(tmp_path / "b.jsonl"))
    assert [t.seed for t in ta] == [7, 8, 9]
    assert [[u.action for u in t.turns] for t in ta] == [[u.action for u in t.turns] for t in tb]
    assert (sa["reward"], sa["components"]) == (sb["reward"], sb["components"])


def test_play_with_piped_stdin():
    out = ok(densegym("play", "densegym/Sokoban-small-v0", "--seed", "0", stdin="up\ndown\nq\n"))
    assert "You are playing Sokoban" in out
    turn_lines = [line for line in out.splitlines() if re.search(r"turn \d+: reward", line)]
    assert len(turn_lines) == 2, out
    assert "turn 1:" in turn_lines[0] and "turn 2:" in turn_lines[1]
    for line in turn_lines:
        for c in COMPONENTS:
            assert re.search(rf"{c}=[+-]\d+\.\d{{3}}", line), line
    assert "episode over" not in out  # 'q' quit before the end


def test_play_wraps_lines_in_the_envs_own_tag():
    """SQL reads <sql> blocks: a bare line becomes one; a line with its own tags is sent as it is."""
    try:
        import sqlglot  # noqa: F401
    except ImportError:
        require(False, "sqlglot", "pip install 'densegym[sql]'")
    out = ok(densegym("play", "densegym/SQL-v0", "--seed", "0", stdin="SELECT 1 AS one\n<answer>SELECT 1</answer>\n"))
    assert "1 row; columns: one" in out
    assert re.search(r"turn 1: reward \+0\.000 .*execution=\+0\.000  schema=\+0\.000", out), out
    assert "Answer submitted. It is not correct" in out and "episode over: success=False" in out


def test_play_ends_on_eof_and_accepts_tags():
    out = ok(densegym("play", "densegym/Sokoban-small-v0", "--seed", "0", stdin="<action>down</action>\n"))
    assert "turn 1: reward" in out and "You moved down" in out


def test_demo(tmp_path):
    out = ok(densegym("demo", "--episodes", "3", "--out-dir", str(tmp_path / "demo"), "--no-train"))
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in (["oracle"], ["random"])}
    assert set(rows) == {"oracle", "random"}
    assert rows["oracle"][1] == "3" and rows["oracle"][2] == "1.000"
    assert rows["random"][1] == "3"
    assert "The first turns of a random episode" in out
    for name in ("oracle", "random"):
        trajs = list(read_jsonl(tmp_path / "demo" / f"{name}.jsonl"))
        assert len(trajs) == 3 and all(t.meta["agent"] == name for t in trajs)


@pytest.mark.parametrize(
    "args",
    [
        ("rollout", "densegym/NoSuchEnv-v0", "--episodes", "1"),
        ("play", "densegym/NoSuchEnv-v0"),
        ("demo", "--env-id", "densegym/NoSuchEnv-v0", "--episodes", "1", "--out-dir", "{tmp}", "--no-train"),
    ],
)
def test_unknown_id_fails_clearly(args, tmp_path):
    proc = densegym(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert proc.returncode != 0
    assert "unknown env id 'densegym/NoSuchEnv-v0'" in proc.stderr
    assert "densegym/Sokoban-v0" in proc.stderr  # lists the known ids
    assert "Traceback" not in proc.stderr


def test_zero_episodes_fails_clearly(tmp_path):
    proc = densegym("rollout", "densegym/Sokoban-small-v0", "--episodes", "0")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "episodes" in proc.stderr


def test_bench_runs_a_benchmark_of_the_checkout():
    out = ok(densegym("bench", "sokoban", "--quick"))
    assert "== benchmarks.bench_sokoban" in out and "target p95 < 50 ms" in out
    proc = densegym("bench", "nope")
    assert proc.returncode == 2 and "unknown benchmark 'nope'; choose from sokoban" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("rollout", "densegym/Sokoban-small-v0", "--kwargs", "[1, 2]"),
         "--kwargs must be a JSON object of env keyword arguments"),
        (("play", "densegym/Sokoban-small-v0", "--kwargs", "{bad"),
         "--kwargs is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2"),
        (("eval", "densegym/Sokoban-small-v0", "--kwargs", '{"dimroom": [5, 5]}'),
         "env kwarg 'dimroom' is not accepted by densegym/Sokoban-small-v0 (SokobanEnv) (did you mean 'dim_room'?); "
         "valid kwargs: difficulty, dim_room,"),
        (("play", "densegym/Sokoban-small-v0", "--kwargs", '{"boxes": 1}'), "valid kwargs: "),
        (("demo", "--kwargs", '{"boxes": 1}', "--no-train"), "env kwarg 'boxes' is not accepted"),
        (("rollout", "densegym/Sokoban-small-v0", "--out", "{tmp}"), "--out {tmp}: is a directory"),
        (("rollout", "densegym/Sokoban-small-v0", "--out", "{tmp}/a-file/t.jsonl"), "{tmp}/a-file is not a directory"),
        (("eval", "densegym/Sokoban-small-v0", "--json", "{tmp}/a-file/m.json"), "{tmp}/a-file is not a directory"),
        (("eval", "densegym/Sokoban-small-v0", "--json", "{tmp}"), "--json {tmp}: is a directory"),
    ],
)
def test_bad_env_arguments_and_paths_exit_2_before_the_run(args, message, tmp_path):
    (tmp_path / "a-file").write_text("")
    proc = densegym(*(a.replace("{tmp}", str(tmp_path)) for a in args), "--episodes" if args[0] != "play" else "--seed",
                    "1")
    assert proc.returncode == 2, proc.stderr
    assert message.replace("{tmp}", str(tmp_path)) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "evaluation of" not in proc.stdout and "mean per episode" not in proc.stdout  # nothing ran


def test_eval_makes_the_directories_of_its_outputs(tmp_path):
    metrics, trajs = tmp_path / "new" / "dir" / "m.json", tmp_path / "other" / "t.jsonl"
    ok(densegym("eval", "densegym/Sokoban-small-v0", "--episodes", "1", "--json", str(metrics), "--out", str(trajs)))
    assert json.loads(metrics.read_text())["episodes"] == 1
    assert len(list(read_jsonl(trajs))) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (("{tmp}/bad.yaml",), "bad.yaml"),
        (("no_such_config",), "no bundled config of that name; bundled: "),
        (("sokoban_turn", "steps=abc"), "steps"),
    ],
)
def test_train_config_errors_are_one_line(args, message, tmp_path):
    (tmp_path / "bad.yaml").write_text("steps: [1,\n  lr: 3\n")
    proc = densegym("train", *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("densegym: error: train: ") and message in lines[0], proc.stderr


def test_the_first_failure_is_told_without_its_traceback():
    from densegym.cli import first_failure
    from densegym.trajectory import Trajectory

    def failed(reason):
        return Trajectory("e", "t", meta={"failed": reason})

    built = "building the env failed: ValueError: bad size\nTraceback (most recent call last):\n  File x\nValueError: bad size"
    assert first_failure([Trajectory("e", "t"), failed(built), failed("other")]) == "building the env failed: ValueError: bad size"
    assert first_failure([failed("Traceback (most recent call last):\n  File x\nKeyError: 3")]) == "KeyError: 3"
    assert first_failure([Trajectory("e", "t")]) is None


def test_list_builds_an_env_whose_family_has_no_metadata():
    """An id registered without its family's reward metadata is still listed, from the env itself."""
    code = (
        "from densegym.envs import registration as r\n"
        "r.FAMILIES.pop('sokoban')\n"
        "from densegym.cli import main; main(['list'])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = {line.split()[0]: line for line in ok(proc).splitlines() if line.startswith("densegym/")}
    assert lines["densegym/Sokoban-small-v0"].endswith(DEFAULT_WEIGHTS["sokoban"])
