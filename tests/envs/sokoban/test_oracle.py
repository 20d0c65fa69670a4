"""The oracle is right: it agrees with an independent brute-force search, and following it is optimal."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import densegym  # noqa: F401
from densegym.envs.sokoban import Level, SokobanOracle, generate_level
from densegym.envs.sokoban.level import mask_of

from .bruteforce import all_distances


def _key(level: Level, state) -> int:
    (r, c), boxes = state
    return mask_of([br * level.width + bc for br, bc in boxes]) * level.n_cells + r * level.width + c


def _random_placement_level(rng: np.random.Generator) -> Level:
    """A random walled room with random boxes, goals and player: often unsolvable, often deadlocked."""
    h, w = int(rng.integers(5, 7)), int(rng.integers(5, 7))
    grid = [["#"] * w for _ in range(h)]
    inner = [(r, c) for r in range(1, h - 1) for c in range(1, w - 1)]
    for r, c in inner:
        grid[r][c] = "#" if rng.random() < 0.15 else " "
    floor = [(r, c) for r, c in inner if grid[r][c] == " "]
    n_boxes = min(int(rng.integers(1, 4)), (len(floor) - 1) // 2)
    picks = rng.permutation(len(floor))[: 2 * n_boxes + 1]
    cells = [floor[i] for i in picks]
    for r, c in cells[:n_boxes]:
        grid[r][c] = "$"
    for r, c in cells[n_boxes : 2 * n_boxes]:
        grid[r][c] = "*" if grid[r][c] == "$" else "."
    r, c = cells[-1]
    grid[r][c] = "@"
    return Level.from_text("\n".join("".join(row) for row in grid))


def _check_against_bruteforce(level: Level, oracle: SokobanOracle) -> int:
    truth = all_distances(level.to_text())
    for state, d in truth.items():
        answer = oracle.answer(_key(level, state))
        if answer.exact:
            assert answer.distance == d, (level.to_text(), state, answer, d)
        else:
            assert answer.distance <= d, "a degraded answer must be a lower bound"
    return len(truth)


@pytest.mark.parametrize("dims,boxes", [((6, 6), 2), ((7, 7), 2), ((6, 7), 3)])
def test_exact_distances_match_bruteforce_on_generated_levels(dims, boxes):
    for seed in range(12):
        level = generate_level(seed, dims, boxes)
        oracle = SokobanOracle(level)
        assert oracle.exact
        _check_against_bruteforce(level, oracle)


def test_exact_distances_match_bruteforce_on_random_placements():
    rng = np.random.default_rng(7)
    unsolvable = 0
    for _ in range(60):
        level = _random_placement_level(rng)
        oracle = SokobanOracle(level)
        assert oracle.exact
        _check_against_bruteforce(level, oracle)
        unsolvable += oracle.start_distance == math.inf
    assert unsolvable > 0, "the sample should include unsolvable levels, to test deadlock claims"


def test_degraded_oracle_never_claims_wrong_exactness():
    rng = np.random.default_rng(3)
    flagged = 0
    for seed in range(10):
        level = generate_level(seed, (7, 7), 2) if seed % 2 else _random_placement_level(rng)
        truth = all_distances(level.to_text())
        oracle = SokobanOracle(level, max_states=5, search_limit=40)
        assert oracle.exact == (len(truth) <= 5)
        for state, d in truth.items():
            answer = oracle.answer(_key(level, state))
            flagged += not answer.exact
            if answer.exact:
                assert answer.distance == d
            else:
                assert answer.distance <= d
    assert flagged > 0, "a tiny search limit must leave some answers inexact"


def test_degraded_env_sets_oracle_degraded_and_still_solves():
    env = gym.make("densegym/Sokoban-v0", dim_room=(7, 7), num_boxes=2, oracle_max_states=5)
    env.reset(seed=1)
    _, _, _, _, info = env.step(env.unwrapped.oracle_action())
    assert info["oracle_degraded"] is True
    env.reset(seed=1)
    clean = gym.make("densegym/Sokoban-v0", dim_room=(7, 7), num_boxes=2)
    _, info0 = clean.reset(seed=1)
    _, _, _, _, info = clean.step(clean.unwrapped.oracle_action())
    assert info["oracle_degraded"] is False
    # The degraded oracle's bounded searches still finish on a small level: same optimal play.
    turns = 0
    while True:
        turns += 1
        _, _, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
        if terminated or truncated:
            break
    assert info["success"] and turns == info0["privileged"]["start_distance"]


@pytest.mark.parametrize(
    "env_id,moves_per_turn",
    [
        ("densegym/Sokoban-small-v0", 1),
        ("densegym/Sokoban-medium-v0", 1),
        ("densegym/Sokoban-boxoban-v0", 1),
        ("densegym/Sokoban-small-v0", 3),
    ],
)
def test_following_the_oracle_solves_in_exactly_the_optimal_number_of_moves(env_id, moves_per_turn):
    env = gym.make(env_id, moves_per_turn=moves_per_turn)
    for seed in range(8):
        _, info = env.reset(seed=seed)
        optimal = info["privileged"]["start_distance"]
        lo, hi = env.unwrapped.difficulty
        assert lo <= optimal <= hi
        moves = 0
        while True:
            action = env.unwrapped.oracle_action()
            moves += len(action.removeprefix("<action>").removesuffix("</action>").split())
            _, _, terminated, truncated, info = env.step(action)
            assert info["reward_components"]["optimal"] == 1.0
            if terminated or truncated:
                break
        assert info["success"] and terminated
        assert moves == optimal
        assert info["turn"] == math.ceil(optimal / moves_per_turn)


def test_generator_is_deterministic_and_task_ids_round_trip():
    a = generate_level(123, (7, 7), 2, (10, 14))
    b = generate_level(123, (7, 7), 2, (10, 14))
    c = generate_level(124, (7, 7), 2, (10, 14))
    assert a == b and a != c
    assert 10 <= SokobanOracle(a).start_distance <= 14
    env = gym.make("densegym/Sokoban-v0")
    obs, info = env.reset(seed=5)
    obs2, info2 = env.reset(options={"task": info["task_id"]})
    assert obs2 == obs and info2["task_id"] == info["task_id"]
    with pytest.raises(ValueError, match="difficulty"):
        generate_level(0, (5, 5), 1, (40, 50), max_tries=5)


def test_every_move_on_a_shortest_path_is_verified_optimal_and_reduces_distance_by_one():
    """docs/algorithms.md 4(e)5: each optimal action gets the oracle reward; committing it cuts the distance by 1.

    VPR's candidate comparison from one state: an optimal move scores exactly one more than every legal
    non-optimal move, from every solvable state, also after random moves put the agent behind its best
    (where the levels are 0 / -1 instead of +1 / 0: see ``OptimalMoveReward``)."""
    env = gym.make("densegym/Sokoban-medium-v0").unwrapped
    rng = np.random.default_rng(0)
    checked = behind_states = 0
    for seed in range(4):
        env.reset(seed=seed)
        lowest = env.privileged()["distance"]
        for _ in range(15):
            d = env.privileged()["distance"]
            best = set(env.oracle.best_moves(env._key))
            top = 1.0 if d == lowest else 0.0  # what an optimal move scores from here
            behind_states += d > lowest
            for move in ("up", "down", "left", "right"):
                _, info = env.score_action(f"<action>{move}</action>")
                verdict = info["reward_components"]["optimal"]
                if move in best:
                    assert verdict == top and info["privileged"]["distance"] == d - 1
                    assert info["behind_best"] == (d > lowest)
                    checked += 1
                elif info["action_valid"]:
                    assert verdict == top - 1.0
                else:
                    assert verdict == -1.0
            _, _, term, trunc, _ = env.step(env.random_action(rng))
            if term or trunc or env.privileged()["distance"] == -1:
                break
            lowest = min(lowest, env.privileged()["distance"])
    assert checked > 20 and behind_states > 5
