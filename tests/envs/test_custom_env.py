"""A newcomer's own env: what a forgotten method says, the documented skeleton run as a real script with an
EnvPool, and what a script that creates a pool without ``if __name__ == "__main__":`` says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from densegym.envs import ActionError, StepOutcome, TextEnv, extract_tag
from densegym.rewards import RewardSet, format_reward, outcome_reward

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-an-env.md"


class Partial(TextEnv):
    """Everything but the state's view and anchor (an intermediate base class may leave them out)."""

    def default_rewards(self) -> RewardSet:
        return RewardSet({"format": (format_reward(), 0.1), "outcome": (outcome_reward(), 1.0)})

    def sample_task(self, rng: np.random.Generator) -> int:
        return int(rng.integers(1, 4))

    def start(self, task: int) -> str:
        self.count, self.goal = 0, task
        return f"Say <action>up</action> {task} times."

    def parse_action(self, text: str) -> str:
        if (extract_tag(text) or "").strip() != "up":
            raise ActionError("only up is accepted")
        return "up"

    def apply_action(self, parsed: str) -> StepOutcome:
        self.count += 1
        done = self.count == self.goal
        return StepOutcome(f"count {self.count}", terminated=done, success=done, outcome=float(done))


class NoAnchor(Partial):
    def state_view(self) -> int:
        return self.count


class Complete(NoAnchor):
    def anchor(self) -> str:
        return str(self.count)


def test_a_forgotten_anchor_is_named_with_what_it_must_return_at_construction():
    with pytest.raises(TypeError) as caught:
        NoAnchor()
    message = str(caught.value)
    assert message.startswith("NoAnchor does not implement anchor(),")
    assert "anchor() -> str: a canonical string of the state" in message and "GiGPO" in message
    assert "docs/writing-an-env.md" in message
    gym.register("test-custom/NoAnchor-v0", entry_point=NoAnchor)
    try:
        with pytest.raises(TypeError, match=r"does not implement anchor\(\)"):
            gym.make("test-custom/NoAnchor-v0")
    finally:
        gym.registry.pop("test-custom/NoAnchor-v0", None)


def test_every_missing_method_is_named():
    with pytest.raises(TypeError, match=r"Partial does not implement state_view\(\), anchor\(\),"):
        Partial()

    class Bare(TextEnv):
        pass

    with pytest.raises(TypeError) as caught:
        Bare()
    names = re.search(r"does not implement (.*), which", str(caught.value)).group(1)
    assert names == ("default_rewards(), sample_task(), start(), parse_action(), apply_action(), state_view(), "
                     "anchor()")
    assert str(caught.value).count("\n  - ") == 7, "one line per method, saying what it must return"


def test_declared_snapshot_and_oracle_need_their_methods():
    class Snapshots(Complete):
        supports_snapshot = True

    class Oracle(Complete):
        has_oracle = True

    with pytest.raises(TypeError, match=r"(?s)does not implement save_state\(\), load_state\(\),.*supports_snapshot"):
        Snapshots()
    with pytest.raises(TypeError, match=r"(?s)does not implement oracle_action\(\),.*has_oracle = True"):
        Oracle()


def test_a_complete_env_passes_the_checker_and_gets_a_default_action_help():
    env = Complete()
    check_env(env)
    env.reset(seed=0)
    obs, _, _, _, info = env.step("<action>down</action>")
    assert not info["action_valid"]
    assert obs == "Invalid action: only up is accepted\nWrite your action inside <action>...</action>."


def test_forgetting_super_init_is_named_at_reset():
    class NoSuper(Complete):
        def __init__(self, **kwargs: Any):
            self.count = 0

    with pytest.raises(RuntimeError, match=r"NoSuper.__init__ must call super\(\).__init__\(\*\*kwargs\)"):
        NoSuper().reset(seed=0)


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def _run_script(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path)], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_documented_skeleton_runs_in_an_envpool_from_a_script(tmp_path):
    """The skeleton and the EnvPool snippet of docs/writing-an-env.md, pasted into one script: the env class
    lives in ``__main__`` and the pool ships it to spawned workers; a closure factory works as well."""
    blocks = _python_blocks(DOC.read_text())
    skeleton = next(b for b in blocks if "class LineWalkEnv(TextEnv)" in b)
    pool = next(b for b in blocks if "EnvPool(LineWalkEnv" in b)
    closure = '''
def closure_pool(span):
    with EnvPool(lambda: LineWalkEnv(span=span), num_envs=2, num_workers=2) as pool:
        [out] = pool.reset({0: (None, {"task": -3}, 0)}).values()
        print("closure:", out[1]["task_id"], out[1]["anchor"])
        print("snapshot:", pool.call("snapshot", [0])[0]["state"])
'''
    extra = '''
    from gymnasium.utils.env_checker import check_env
    check_env(LineWalkEnv())
    closure_pool(span=3)
'''
    script = tmp_path / "walk.py"
    script.write_text(skeleton + "\n\n" + pool.replace("\nif __name__", closure + "\n\nif __name__", 1) + extra)
    result = _run_script(script, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "8 of 8 episodes solved", result.stdout
    assert lines[1:] == ["closure: -3 Walk(position=0, target=-3)", "snapshot: (0, -3)"]
    written = (tmp_path / "runs" / "walk.jsonl").read_text().splitlines()
    assert len(written) == 8


UNGUARDED = '''
from densegym.envpool import EnvPool

pool = EnvPool("densegym/Sokoban-v0", num_envs=1, num_workers=1)
print("reset", pool.reset({0: (0, None, 0)})[0][1]["task_id"])
pool.close()
'''


def test_a_script_without_the_main_guard_is_told_to_add_it(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED)
    result = _run_script(script, tmp_path)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: an EnvPool worker failed to start: a worker process re-ran your script "
                           f"{script}"), last
    assert 'under `if __name__ == "__main__":`' in last
    assert "exited with code" not in result.stderr
    # the same script with the guard works
    guarded = tmp_path / "guarded.py"
    body = "\n".join("    " + line for line in UNGUARDED.strip().splitlines()[1:])
    guarded.write_text("from densegym.envpool import EnvPool\n\nif __name__ == '__main__':\n" + body + "\n")
    result = _run_script(guarded, tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("reset "), result.stderr[-3000:]


def test_envpool_ships_factories_with_multiprocess_and_never_falls_back():
    import densegym.envpool as envpool

    assert envpool.mp.__name__ == "multiprocess"
    code = "import sys\nsys.modules['multiprocess'] = None\nimport densegym.envpool\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "EnvPool needs the multiprocess package" in result.stderr and "pip install multiprocess" in result.stderr
