"""Level generation is bounded: a size the generator cannot serve fails fast with a message that says what was
searched and what to do, and the bound never changes a level it lets through."""

from __future__ import annotations

import hashlib
import re

import gymnasium as gym
import pytest
from gymnasium.utils.seeding import np_random

import densegym  # noqa: F401 - registers the ids
from densegym.envs.sokoban import SokobanEnv, generate_level
from densegym.envs.sokoban.generator import GENERATION_BUDGET, GenerationError

# sha256 (first 16 hex digits) of the task ids and level texts of seeds 0..11, written by the generator before
# the budget existed (commit b25f505): the registered variants and the default still make exactly these levels
PINNED = {
    "densegym/Sokoban-v0": "e6f676938b5ef3b6",
    "densegym/Sokoban-small-v0": "e6f676938b5ef3b6",
    "densegym/Sokoban-medium-v0": "c570c4f85ee2208b",
    "densegym/Sokoban-boxoban-v0": "469be18fd124daeb",
}


@pytest.mark.parametrize("env_id", sorted(PINNED))
def test_registered_variants_generate_the_levels_they_always_did(env_id):
    env = gym.make(env_id).unwrapped
    digest = hashlib.sha256()
    levels = [env.sample_task(np_random(seed)[0]) for seed in range(12)]  # reset's draws, without the oracles
    for level in levels:
        digest.update(f"{level.name}\n{level.to_text()}\n".encode())
    _, info = env.reset(seed=0)
    assert info["task_id"] == levels[0].name and env.level == levels[0]
    assert digest.hexdigest()[:16] == PINNED[env_id]


def _searched(message: str) -> int:
    return int(re.search(r"([\d,]+) states", message).group(1).replace(",", ""))


def test_a_room_too_large_for_its_difficulty_fails_fast_with_a_clear_message():
    """The newcomer's case: 20x20 with 5 boxes and the default difficulty (118 to 226 moves) used to search 200
    rooms of 200,000 states (over a minute) before failing; the default budget stops it after about 1,000,000."""
    env = SokobanEnv(dim_room=(20, 20), num_boxes=5)
    with pytest.raises(GenerationError) as caught:
        env.reset(seed=0)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert "20x20" in message and "5 boxes" in message and "[118, 226]" in message
    assert "generation_budget" in message and "docs/envs.md" in message
    # the work is bounded by counting: past the budget by at most the one breadth-first layer that crossed it
    assert GENERATION_BUDGET <= _searched(message) < 2 * GENERATION_BUDGET
    deepest = int(re.search(r"deepest start found was (\d+) moves", message).group(1))
    assert 0 < deepest < 118


def test_the_budget_is_an_env_kwarg_and_counts_states():
    env = SokobanEnv(dim_room=(12, 12), num_boxes=4, generation_budget=5_000)
    with pytest.raises(GenerationError, match="budget 5,000") as caught:
        env.reset(seed=0)
    assert 5_000 <= _searched(str(caught.value)) < 200_000
    with pytest.raises(ValueError, match="generation_budget"):
        SokobanEnv(generation_budget=0)


def test_the_budget_never_changes_a_level_it_lets_through():
    """Given enough budget, every seed yields the level of the unbounded generator; given less than a seed's
    searches need, it raises instead of returning a different level."""
    raised = 0
    for seed in range(30):
        free = generate_level(seed, (9, 9), 3, budget=None)
        assert generate_level(seed, (9, 9), 3) == free
        try:
            tight = generate_level(seed, (9, 9), 3, budget=300)
        except GenerationError:
            raised += 1
        else:
            assert tight == free
    assert raised > 0, "a 300-state budget must stop some 9x9 searches"


def test_too_many_rooms_still_names_the_difficulty():
    with pytest.raises(GenerationError, match="difficulty") as caught:
        generate_level(0, (5, 5), 1, (40, 50), max_tries=5)
    assert "5 rooms" in str(caught.value)
