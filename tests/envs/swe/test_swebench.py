"""A SWE-bench-format instance with its own image: the loader's field names, the repository copied out of the
image, the hidden tests with the instance's test patch applied, the gold patch solving it (real Docker)."""

from __future__ import annotations

import json

import pytest

from densegym.envs.swe import SWEEnv, load_swebench_jsonl
from densegym.envs.swe.patches import make_patch
from densegym.envs.swe.task import bundled_task

from .conftest import require_executor, sample_ids


def _instance(task, image: str) -> dict:
    module, name = task.fail_to_pass[0].split("::", 1)
    new_test = task.pristine[module]  # the instance's test patch adds a copy of the failing test's module
    return {
        "instance_id": "densegym__demo-1",
        "repo": "densegym/demo",
        "base_commit": "0" * 40,
        "problem_statement": task.issue,
        "patch": task.gold_patch,
        "test_patch": make_patch({}, {"tests/test_issue.py": new_test}),
        "FAIL_TO_PASS": json.dumps([f"tests/test_issue.py::{name}", *task.fail_to_pass]),
        "PASS_TO_PASS": json.dumps(list(task.pass_to_pass[:5])),
        "image_name": image,
    }


def test_the_loader_reads_the_published_fields(tmp_path):
    task = bundled_task(sample_ids(1, seed=30)[0])
    path = tmp_path / "instances.jsonl"
    path.write_text(json.dumps(_instance(task, "my/image:1")) + "\n")
    (loaded,) = load_swebench_jsonl(path)
    assert loaded.task_id == "densegym__demo-1" and loaded.image == "my/image:1"
    assert loaded.fail_to_pass[0].startswith("tests/test_issue.py::") and len(loaded.pass_to_pass) == 5
    record = _instance(task, "x")
    del record["image_name"]
    path.write_text(json.dumps(record) + "\n")
    assert load_swebench_jsonl(path)[0].image == "sweb.eval.x86_64.densegym__demo-1"
    path.write_text('{"instance_id": "a"}\n')
    with pytest.raises(ValueError, match=r"instances.jsonl:1: not a SWE-bench instance"):
        load_swebench_jsonl(path)


def test_an_instance_runs_in_its_own_image_and_the_gold_patch_solves_it(tmp_path):
    require_executor("docker")
    from densegym.sandbox.docker import ensure_project_image

    task = bundled_task(sample_ids(1, seed=30, difficulty=(1, 2))[0])
    image = ensure_project_image(f"instance-{task.task_id}", task.files)  # the buggy repository, at /repo
    path = tmp_path / "instances.jsonl"
    path.write_text(json.dumps(_instance(task, image)) + "\n")
    env = SWEEnv(executor="docker", tasks=str(path), image_root="/repo")
    try:
        obs, _ = env.reset(seed=0)
        assert task.issue.strip() in obs and "tests/test_issue.py" not in obs  # the test patch stays hidden
        assert "tests/test_issue.py" in env.task.pristine
        infos = []
        for _ in range(6):
            *_, term, _, step_info = env.step(env.oracle_action())
            infos.append(step_info)
            if term:
                break
        assert infos[-1]["success"] and infos[-1]["outcome"] == 1.0
        assert sum(i["reward_components"]["tests"] for i in infos) == pytest.approx(1.0)
    finally:
        env.close()
