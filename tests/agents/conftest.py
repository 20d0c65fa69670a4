"""Shared fixtures: the tiny offline model (built once per session) and an agent over it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """The tiny model is far faster on one thread: its matrices are too small to split, and on a busy
    two-core machine extra threads only wait for each other. Restored when this package's tests end."""
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from densegym.models import build_tiny_tokenizer

    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_model(tiny_tokenizer):
    from densegym.models import build_tiny_model

    return build_tiny_model(tiny_tokenizer, seed=0)


@pytest.fixture(scope="session")
def sokoban_conversations():
    """Three Sokoban conversations of different lengths: two first turns and one three-turn history."""
    import gymnasium as gym

    import densegym  # noqa: F401

    convs = []
    env = gym.make("densegym/Sokoban-v0")
    try:
        for seed in range(2):
            obs, _ = env.reset(seed=seed)
            convs.append([{"role": "user", "content": obs}])
        obs, _ = env.reset(seed=7)
        conv = [{"role": "user", "content": obs}]
        for action in ("<action>up</action>", "I think <action>left</action>"):
            obs = env.step(action)[0]
            conv += [{"role": "assistant", "content": action}, {"role": "user", "content": obs}]
        convs.append(conv)
    finally:
        env.close()
    return convs
