"""Reward integrity of ``optimal``: its sum over an episode cannot be farmed (review "Reward integrity", A).

VPR's per-state verdict (+1 for an optimal move from any state) paid +1 per move/undo cycle: step off the
optimal path (0), step back (+1). ``optimal`` now scores one less for a turn that starts behind the episode's
lowest distance, so its sum is at most ``d0`` whatever the agent does; candidate ranking from one state is
checked in ``test_oracle.py``.
"""

from __future__ import annotations

import gymnasium as gym
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import densegym  # noqa: F401 - registers the ids
from densegym.envs.sokoban.level import MOVES

REVERSE = {"up": "down", "down": "up", "left": "right", "right": "left"}


def _walk_off_move(env) -> str:
    """A legal move from the current state that pushes nothing, is not optimal, and can be undone."""
    board, key = env.oracle.board, env.save_state()
    best = set(env.oracle.best_moves(key))
    for i, m in enumerate(MOVES):
        nxt = board.move(key, i)
        if nxt is None or nxt[1] or m in best:
            continue
        back = board.move(nxt[0], MOVES.index(REVERSE[m]))
        if back is not None and back[0] == key:
            return m
    return ""


def test_a_move_undo_cycle_earns_nothing():
    """The review's attack: 18 cycles of step-off / step-back. VPR's per-state verdict paid +1 per cycle
    (18 points, more than d0, without solving); the sum is now 0 over the cycles, and the level can still be
    solved afterwards for exactly d0 points."""
    env = gym.make("densegym/Sokoban-small-v0").unwrapped
    for seed in range(20):
        _, info = env.reset(seed=seed)
        off = _walk_off_move(env)
        if off:
            break
    assert off, "no level with a plain non-optimal move at the start among seeds 0-19"
    d0 = info["privileged"]["start_distance"]
    env.max_turns = 200  # room for the cycles and the solution
    cycle_total = 0.0
    for _ in range(18):
        for move in (off, REVERSE[off]):
            _, _, term, trunc, info = env.step(f"<action>{move}</action>")
            assert info["action_valid"] and not (term or trunc)
            cycle_total += info["reward_components"]["optimal"]
        assert info["privileged"]["distance"] == d0  # back where it started
    assert info["behind_best"], "the step back starts behind the lowest distance reached"
    assert cycle_total == 0.0
    total = cycle_total
    while True:
        _, _, term, trunc, info = env.step(env.oracle_action())
        total += info["reward_components"]["optimal"]
        if term or trunc:
            break
    assert info["success"] and total == d0


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 30),
    moves_per_turn=st.sampled_from([1, 2]),
    turns=st.lists(st.lists(st.sampled_from(MOVES + ("undo",)), min_size=1, max_size=2), min_size=1, max_size=80),
)
def test_the_sum_of_optimal_never_exceeds_the_start_distance(seed, moves_per_turn, turns):
    """Any sequence of moves, undos (the reverse of the last move) and invalid moves: after every turn the
    cumulative ``optimal`` is at most d0, and exactly the number of turns that reached a new lowest distance."""
    env = gym.make("densegym/Sokoban-small-v0", moves_per_turn=moves_per_turn, max_turns=500).unwrapped
    _, info = env.reset(seed=seed)
    d0 = lowest = info["privileged"]["start_distance"]
    total, new_lows, last = 0.0, 0, "up"
    for turn in turns:
        moves = [REVERSE[last] if m == "undo" else m for m in turn][:moves_per_turn]
        last = moves[-1]
        _, _, term, _, info = env.step(f"<action>{' '.join(moves)}</action>")
        total += info["reward_components"]["optimal"]
        d = info["privileged"]["distance"]
        if d != -1 and d < lowest:
            new_lows += info["reward_components"]["optimal"] == 1.0
            lowest = d
        assert total <= d0
        if term:
            break
    assert total <= new_lows <= d0
