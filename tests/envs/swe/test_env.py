"""SWEEnv on bundled tasks, on both executors, with real test runs: the issue's "what must hold", each reward
component, the pristine hidden tests, the G-RA levels, bad input and the bash-only format."""

from __future__ import annotations

import pytest

from densegym.envs.swe import SWEEnv
from densegym.envs.swe.task import bundled_task, is_test_path

from .conftest import require_executor, sample_ids


def play(env, task_id, actions=None, max_steps=12):
    """Reset to ``task_id`` and play ``actions`` (default: the oracle) to the end; every step's info."""
    env.reset(options={"task": task_id})
    infos = []
    for _ in range(max_steps):
        action = env.oracle_action() if actions is None else actions.pop(0)
        *_, term, trunc, info = env.step(action)
        infos.append(info)
        if term or trunc or (actions is not None and not actions):
            break
    return infos


def total(infos, name):
    return sum(i["reward_components"][name] for i in infos)


def gold_file(task) -> str:
    return min(task.gold_files)


def comment_edit(task) -> str:
    """An edit that changes a gold file's text but not its behaviour: the bug stays."""
    path = gold_file(task)
    return f"<action>insert {path} 0\n# a comment that fixes nothing\n</action>"


@pytest.mark.parametrize("task_id", sample_ids(2, seed=1))
def test_the_gold_patch_scores_1_and_the_unpatched_repository_0(make_env, task_id):
    env = make_env()
    infos = play(env, task_id)
    last = infos[-1]
    assert last["success"] and last["outcome"] == 1.0 and last["swe"]["level"] == 3.0
    assert total(infos, "tests") == pytest.approx(1.0)  # potential 0 -> 1: every FAIL_TO_PASS test now passes
    assert total(infos, "regression") == pytest.approx(0.0)
    assert last["privileged"]["gold_patch"] == bundled_task(task_id).gold_patch

    task = bundled_task(task_id)
    infos = play(env, task_id, [comment_edit(task), "<action>submit</action>"])
    assert infos[0]["swe"]["tests_run"] and infos[0]["swe"]["f2p_passing"] == 0
    assert infos[0]["swe"]["first_edit"]["in_gold"] and infos[0]["reward_components"]["localization"] == 1.0
    last = infos[-1]
    assert not last["success"] and last["outcome"] == 0.0 and last["swe"]["level"] == 2.0


def test_the_same_task_gives_the_same_rewards_on_both_executors():
    for kind in ("local", "docker"):
        require_executor(kind)
    task_id = sample_ids(1, seed=2, difficulty=(1, 2))[0]
    task = bundled_task(task_id)
    script = lambda env: [comment_edit(task), "<action>bash\npython3 -m pytest -q tests | tail -1</action>",
                          env.oracle_action, "<action>submit</action>"]  # fmt: skip
    rewards = {}
    for kind in ("local", "docker"):
        env = SWEEnv(executor=kind)
        try:
            env.reset(options={"task": task_id})
            seen = []
            for action in script(env):
                *_, term, _, info = env.step(action() if callable(action) else action)
                seen.append((info["reward_components"], info["swe"].get("f2p_passing"), info["swe"].get("p2p_failing")))
                if term:
                    break
            rewards[kind] = seen
        finally:
            env.close()
    assert rewards["local"] == rewards["docker"]
    assert rewards["local"][-1][0]["outcome"] == 1.0


def test_editing_the_tests_never_pays(make_env):
    task_id = sample_ids(1, seed=3)[0]
    task = bundled_task(task_id)
    env = make_env()
    env.reset(options={"task": task_id})
    module = task.fail_to_pass[0].split("::")[0]
    actions = ["<action>bash\nfor f in tests/*.py; do cat > $f <<'EOF'\ndef test_everything_passes():\n    assert True\nEOF\ndone</action>",
               ("<action>create conftest.py\nimport pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
                "def pytest_runtest_makereport(item, call):\n    out = yield\n    out.get_result().outcome = 'passed'\n</action>"),
               "<action>create pytest.ini\n[pytest]\naddopts = -p no:python\n</action>",
               "<action>submit</action>"]  # fmt: skip
    infos = []
    for action in actions:
        *_, info = env.step(action)
        infos.append(info)
    assert env.executor.read(module).startswith("def test_everything_passes")  # the agent's copy did change
    assert all(i["reward_components"]["tests"] == 0.0 for i in infos)
    assert infos[-1]["outcome"] == 0.0 and infos[-1]["swe"]["level"] == 1.0  # only tests changed: an empty patch
    assert env.patch() == ""


def test_code_that_forges_pytest_reports_scores_nothing(make_env):
    task_id = sample_ids(1, seed=4)[0]
    task = bundled_task(task_id)
    package = task.project
    forge = (
        "\nimport _pytest.reports as _r\n_init = _r.TestReport.__init__\n"
        "def _forged(self, *a, **k):\n    _init(self, *a, **k)\n    self.outcome = 'passed'\n    self.longrepr = None\n"
        "_r.TestReport.__init__ = _forged\n"
    )
    env = make_env()
    env.reset(options={"task": task_id})
    init = f"{package}/__init__.py"
    text = env.executor.read(init)
    *_, info = env.step(f"<action>bash\ncat >> {init} <<'EOF'\n{forge}EOF</action>")
    assert env.executor.read(init) == text + forge
    assert info["swe"]["tests_run"] and info["swe"]["tampered"]
    assert info["reward_components"]["tests"] == 0.0 and info["reward_components"]["regression"] == -1.0
    *_, info = env.step("<action>submit</action>")
    assert info["outcome"] == 0.0 and not info["success"]


def test_localization_pays_once_for_a_first_edit_in_a_gold_file_only(make_env):
    task_id = sample_ids(1, seed=5)[0]
    task = bundled_task(task_id)
    gold = set(task.gold_files)
    other = next(p for p in sorted(task.files) if p.endswith(".py") and p not in gold and not is_test_path(p))
    env = make_env()
    infos = play(env, task_id, [f"<action>insert {other} 0\n# note\n</action>", comment_edit(task)])
    assert infos[0]["swe"]["first_edit"] == {"files": [other], "in_gold": False}
    assert [i["reward_components"]["localization"] for i in infos] == [0.0, 0.0]
    # a new file (a reproduction script) is not an edit of the repository; the first real edit decides
    infos = play(env, task_id, ["<action>create reproduce.py\nprint('hi')\n</action>", comment_edit(task), comment_edit(task)])
    assert [i["reward_components"]["localization"] for i in infos] == [0.0, 1.0, 0.0]


def test_gra_levels_order_no_submit_empty_patch_failing_and_passing(make_env):
    task_id = sample_ids(1, seed=6)[0]
    env = make_env(max_turns=2)
    infos = play(env, task_id, ["<action>view README.md</action>", "<action>find def </action>"])
    assert infos[-1]["reward_components"]["level"] == 0.0 and "success" in infos[-1] and not infos[-1]["success"]
    infos = play(env, task_id, ["<action>submit</action>"])
    assert infos[-1]["reward_components"]["level"] == 1.0
    assert env.rewards.weights["level"] == 0.0  # the level is for the gated transform, not the scalar reward


def test_undo_and_redo_of_a_fix_telescopes_to_nothing(make_env):
    task_id = sample_ids(1, seed=7, difficulty=(1, 2))[0]
    env = make_env()
    env.reset(options={"task": task_id})
    fix = env.oracle_action()
    path = fix.split("\n", 1)[0].split()[1]
    steps = [fix, f"<action>undo_edit {path}</action>", fix, f"<action>undo_edit {path}</action>"]
    tests = []
    for action in steps:
        *_, info = env.step(action)
        tests.append(info["reward_components"]["tests"])
    assert tests == [1.0, -1.0, 1.0, -1.0]
    assert env.patch() == ""


def test_the_prompt_shows_the_issue_but_no_gold_information(make_env):
    task_id = sample_ids(1, seed=8)[0]
    task = bundled_task(task_id)
    env = make_env()
    obs, info = env.reset(options={"task": task_id})
    assert task.issue.strip() in obs
    for node in task.fail_to_pass:
        assert node.split("::")[-1] not in obs
    added = [line[1:] for line in task.gold_patch.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert not any(line.strip() and line.strip() in obs for line in added)
    assert set(info["privileged"]) == {"gold_patch", "fail_to_pass", "pass_to_pass"}


BAD_ACTIONS = [
    ("no tags at all", "no <action>"),
    ("<action></action>", "empty"),
    ("<action>rm -rf /</action>", "unknown command"),
    ("<action>view /etc/passwd</action>", "absolute path"),
    ("<action>view ../../etc/passwd</action>", "climbs out"),
    ("<action>create ../evil.py\nx = 1\n</action>", "climbs out"),
    ("<action>view .git/config</action>", "hidden"),
    ("<action>str_replace README.md\nno block here\n</action>", "exactly one block"),
    ("<action>str_replace README.md\n<<<<<<< SEARCH\nthis text is not in the file\n=======\nx\n>>>>>>> REPLACE\n</action>", "does not occur"),
    ("<action>insert README.md 100000\nx\n</action>", "lines"),
    ("<action>insert README.md x\nx\n</action>", "integers"),
    ("<action>undo_edit README.md</action>", "no edit"),
    ("<action>view no/such/file.py</action>", "no file"),
    ("<action>submit now</action>", "no arguments"),
    ("<action>bash\n\x00</action>", "NUL"),
    ("<action>view " + "a" * 300 + ".py</action>", "characters"),
    ("<action>bash\n" + "x" * 30_000 + "</action>", "characters"),
]


def test_bad_actions_change_nothing_and_say_what_was_wrong(make_env):
    env = make_env()
    task_id = sample_ids(1, seed=9)[0]
    env.reset(options={"task": task_id})
    before = env.executor.snapshot()
    for action, needle in BAD_ACTIONS:
        obs, _, term, trunc, info = env.step(action)
        assert not info["action_valid"] and needle.lower() in obs.lower(), (action[:40], obs[:200])
        assert info["reward_components"]["format"] == -1.0 and not term
        if trunc:
            env.reset(options={"task": task_id})
    assert env.executor.snapshot() == before


def test_a_symlink_planted_by_a_command_is_not_followed_by_the_editor(make_env):
    env = make_env()
    env.reset(options={"task": sample_ids(1, seed=10)[0]})
    env.step("<action>bash\nln -s / rootlink && ln -s /etc/hostname hostlink</action>")
    for action in ("<action>view rootlink/etc/passwd</action>", "<action>view hostlink</action>",
                   "<action>str_replace hostlink\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n</action>",
                   "<action>create rootlink/tmp/evil.py\nx = 1\n</action>"):  # fmt: skip
        obs, *_, info = env.step(action)
        assert not info["action_valid"] and "symlink" in obs, (action, obs[:200])


def test_a_command_past_its_time_limit_is_killed(make_env):
    env = make_env(command_timeout_s=2)
    env.reset(options={"task": sample_ids(1, seed=11)[0]})
    obs, *_, info = env.step("<action>bash\nsleep 600</action>")
    assert "timed out" in obs and info["action_valid"]
    obs, *_ = env.step("<action>bash\necho still here</action>")
    assert "still here" in obs


def test_bash_only_mode_solves_with_the_oracle_and_submits_on_the_sentinel(kind):
    require_executor(kind)
    env = SWEEnv(executor=kind, action_format="bash")
    try:
        task_id = sample_ids(1, seed=12)[0]
        obs, _ = env.reset(options={"task": task_id})
        assert "```bash" in obs and "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" in obs
        obs, *_, info = env.step("I will look around.\n```bash\nls\n```")
        assert "README.md" in obs and info["action_valid"]
        *_, info = env.step("no code block")
        assert not info["action_valid"]
        infos = play(env, task_id)
        assert infos[-1]["success"] and infos[-1]["outcome"] == 1.0
        assert infos[-2]["reward_components"]["tests"] == pytest.approx(1.0) or total(infos, "tests") == pytest.approx(1.0)
    finally:
        env.close()


def test_score_action_leaves_the_repository_as_it_was(make_env):
    env = make_env()
    env.reset(options={"task": sample_ids(1, seed=13, difficulty=(1, 2))[0]})
    before = env.executor.snapshot()
    _, info = env.score_action(env.oracle_action())
    assert info["reward_components"]["tests"] == 1.0
    assert env.executor.snapshot() == before and env.patch() == "" and env.turn == 0


def test_a_new_episode_of_the_same_task_starts_from_the_untouched_repository(make_env):
    task_id = sample_ids(1, seed=14)[0]
    env = make_env()
    env.reset(options={"task": task_id})
    env.step("<action>bash\necho junk > README.md && echo 'x = 1' > scratch.py && rm -rf tests</action>")
    for _ in range(2):  # the second and third resets come from a warm pool that preloaded this task (Docker)
        env.reset(options={"task": task_id})
        assert env.executor.snapshot() == dict(bundled_task(task_id).files)
