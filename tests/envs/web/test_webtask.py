"""The WebTask API with the example's own site (examples/web_task_todo.py): setup, validate, cheat, teardown."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "web_task_todo.py"


@pytest.fixture
def todo(need_browser):
    spec = importlib.util.spec_from_file_location("web_task_todo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["web_task_todo"] = module
    spec.loader.exec_module(module)
    return module


def test_the_example_task_is_solved_with_dense_rewards_and_torn_down(todo):
    from densegym.envs.web import WebTaskEnv

    env = WebTaskEnv(todo.TodoTask)
    try:
        obs, info = env.reset(seed=3)
        chore = env.web_task.chore
        assert chore in obs and "[" in obs and "Add" in obs
        port = int(env.web_task.start_url.rsplit(":", 1)[1].strip("/"))
        rewards = []
        for _ in range(6):
            obs, reward, terminated, truncated, info = env.step(env.oracle_action())
            rewards.append(info["reward_components"])
            if terminated or truncated:
                break
        assert info["success"] and info["outcome"] == 1.0
        assert [r["task"] for r in rewards] == [0.0, 0.5, 0.0] and rewards[-1]["outcome"] == 1.0
        # stop() ends a new episode with outcome 0; the previous episode's site was torn down
        env.reset(seed=4)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        _, _, terminated, _, info = env.step("<action>stop()</action>")
        assert terminated and info["outcome"] == 0.0
    finally:
        env.close()


def test_only_the_task_origin_is_reachable(todo):
    from densegym.envs.web import WebTaskEnv

    env = WebTaskEnv(todo.TodoTask)
    try:
        env.reset(seed=1)
        _, _, _, _, info = env.step('<action>goto("http://127.0.0.1:9/")</action>')
        assert not info["action_valid"] and "goto only reaches this site" in info["action_error"]
    finally:
        env.close()
