"""Task generation on a tiny project written here, and the bundled task set re-checked for real."""

import json
import random
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from densegym.envs.swe import taskgen
from densegym.envs.swe.mutators import BY_NAME
from densegym.envs.swe.patches import apply_patch, make_patch

SWE = Path(taskgen.__file__).parent
BUNDLED = SWE / "data" / "tasks.jsonl"
PROJECTS = ("ledger", "textkit", "calendrical", "routeplan", "stockroom", "tablekit")

CORE = '''"""Tiny arithmetic helpers."""


def add(a, b):
    return a + b


def clamp(x, lo=0, hi=10):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def count_down(n):
    steps = 0
    while n > 0:
        n -= 1
        steps += 1
    return steps


def unused_helper(x):
    return x * 3
'''

TESTS = '''import pytest

from calc.core import add, clamp, count_down


def test_add():
    assert add(2, 3) == 5


@pytest.mark.parametrize("x, expected", [(-5, 0), (50, 10), (4, 4)])
def test_clamp(x, expected):
    assert clamp(x) == expected


def test_count_down():
    assert count_down(3) == 3
'''


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("projects") / "calc"
    files = {"calc/__init__.py": "", "calc/core.py": CORE, "tests/test_core.py": TESTS, "README.md": "calc\n"}
    taskgen.write_tree(files, root)
    (root / "calc" / "__pycache__").mkdir()
    (root / "calc" / "__pycache__" / "junk.pyc").write_bytes(b"\0")
    (root / "PROJECT_READY").write_text("")
    return root


def mutation(source, name, replacement_contains):
    return next(m for m in BY_NAME[name].mutations(source) if replacement_contains in m.apply(source))


def test_read_project_skips_caches_and_markers(tiny):
    assert sorted(taskgen.read_project(tiny)) == ["README.md", "calc/__init__.py", "calc/core.py", "tests/test_core.py"]


def test_clean_suite_outcomes_by_node_id(tiny):
    result = taskgen.run_suite(taskgen.read_project(tiny))
    assert result.passed == ["tests/test_core.py::test_add", "tests/test_core.py::test_clamp[-5-0]",
                             "tests/test_core.py::test_clamp[4-4]", "tests/test_core.py::test_clamp[50-10]",
                             "tests/test_core.py::test_count_down"]
    assert result.failed == [] and not result.timed_out


def generator(tiny):
    gen = taskgen.ProjectGenerator(tiny, seed=0, timeout_s=20, jobs=2, progress=lambda n: None)
    gen.check_clean()
    return gen


def test_caught_bug_kept_unnoticed_and_looping_ones_rejected(tiny, monkeypatch):
    monkeypatch.setattr(taskgen, "PER_TEST_LIMIT_S", 2)  # the loop is cut after 2 s instead of 5
    gen = generator(tiny)
    caught = taskgen.Candidate((("calc/core.py", mutation(CORE, "wrong_default", "hi=11")),))
    unnoticed = taskgen.Candidate((("calc/core.py", mutation(CORE, "changed_constant", "x * 4")),))
    looping = taskgen.Candidate((("calc/core.py", mutation(CORE, "changed_arithmetic", "n += 1")),))
    for candidate in (caught, unnoticed, looping):
        gen._accept(candidate, gen._run(candidate), target=10)
    assert gen.stats.rejected == {"no test fails": 1, "timeout": 1}
    [task] = gen.tasks
    assert task["fail_to_pass"] == ["tests/test_core.py::test_clamp[50-10]"]
    assert "tests/test_core.py::test_add" in task["pass_to_pass"] and len(task["pass_to_pass"]) == 4
    assert task["difficulty"] == 2
    assert task["mutations"] == [{"file": "calc/core.py", "mutator": "wrong_default", "function": "clamp",
                                  "line": 8}]
    issue = task["issue"]
    assert "from calc.core import clamp" in issue and "clamp(x)" in issue and "x = 50" in issue
    assert "`11`" in issue and "`expected`" not in issue
    assert ".py" not in issue and "test_" not in issue and "hi=11" not in issue


def test_generation_and_revalidation(tiny):
    tasks, stats = taskgen.generate([tiny], per_project=3, seed=3, jobs=2, timeout_s=20)
    assert [t["task_id"] for t in tasks] == [f"calc-{i:04d}" for i in range(1, len(tasks) + 1)]
    assert len(tasks) >= 3 and stats["calc"].kept == len(tasks)
    clean = taskgen.read_project(tiny)
    for task in tasks:
        assert list(task) == list(taskgen._KEYS)
        assert all(m["function"] != "unused_helper" for m in task["mutations"])
        assert task["fail_to_pass"] and task["pass_to_pass"]
        assert not set(task["fail_to_pass"]) & set(task["pass_to_pass"])
        buggy = apply_patch(clean, task["bug_patch"])
        assert apply_patch(buggy, make_patch(buggy, clean)) == clean
    assert taskgen.validate_task(clean, tasks[0], timeout_s=20) == (True, True)
    wrong = dict(tasks[0], fail_to_pass=tasks[0]["pass_to_pass"][:1])  # a passing test claimed to fail
    assert taskgen.validate_task(clean, wrong, timeout_s=20)[0] is False


def test_broken_clean_suite_is_a_clear_error(tmp_path):
    root = tmp_path / "calc"
    taskgen.write_tree({"calc/__init__.py": "", "calc/core.py": CORE.replace("a + b", "a - b"),
                        "tests/test_core.py": TESTS}, root)
    gen = taskgen.ProjectGenerator(root, seed=0, timeout_s=20, jobs=1, progress=lambda n: None)
    with pytest.raises(taskgen.TaskGenError, match=r"calc: the clean suite must pass.*test_add"):
        gen.check_clean()


def test_candidate_draws_are_deterministic(tiny):
    sites = {"calc/core.py": taskgen.all_mutations(CORE)}
    draws = [[c.mutations for c in taskgen._single_candidates(sites, random.Random(1))] for _ in range(2)]
    assert draws[0] == draws[1] and len(draws[0]) == sum(len(v) for v in sites["calc/core.py"].values())
    first_mutators = [c[0][1].mutator for c in draws[0][:len(sites["calc/core.py"])]]
    assert len(set(first_mutators)) == len(sites["calc/core.py"])  # one of each mutator before any repeats


# --- the bundled task set ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundled():
    if not BUNDLED.exists():
        pytest.skip("tasks.jsonl not generated yet")
    return [json.loads(line) for line in BUNDLED.read_text().splitlines()]


def test_bundled_tasks_shape(bundled):
    ids = [t["task_id"] for t in bundled]
    assert len(bundled) >= 300 and len(set(ids)) == len(ids) and ids == sorted(ids)
    per_project = {p: sum(t["project"] == p for t in bundled) for p in {t["project"] for t in bundled}}
    assert all(n >= 40 for n in per_project.values()), per_project
    for task in bundled:
        assert list(task) == list(taskgen._KEYS)
        assert re.fullmatch(rf"{task['project']}-\d{{4}}", task["task_id"])
        assert task["fail_to_pass"] and task["pass_to_pass"] and 1 <= task["difficulty"] <= 5
        assert all(m["file"].startswith(f"{task['project']}/") for m in task["mutations"])


def test_bundled_issues_give_nothing_away(bundled):
    for task in bundled:
        issue = task["issue"]
        assert ".py" not in issue and not re.search(r"\blines? \d+|mutat", issue, re.I), task["task_id"]
        test_names = {t.split("::")[-1].split("[")[0] for t in task["fail_to_pass"] + task["pass_to_pass"]}
        assert not any(name in issue for name in test_names), task["task_id"]
        assert f"from {task['project']}" in issue or f"import {task['project']}" in issue, task["task_id"]


def test_bundled_sample_revalidates(bundled):
    sample = random.Random(0).sample(bundled, 6)
    clean = {p: taskgen.read_project(SWE / "projects" / p) for p in {t["project"] for t in sample}}
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda t: taskgen.validate_task(clean[t["project"]], t, timeout_s=60), sample))
    assert results == [(True, True)] * len(sample), [t["task_id"] for t in sample]
