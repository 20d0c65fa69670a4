"""Sokoban env semantics: rewards, deadlocks, snapshots, determinism, level files, rendering."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import densegym  # noqa: F401
from densegym.envs.sokoban import Level, SokobanEnv, load_levels
from densegym.envs.sokoban.level import format_levels

# A corridor level: the box can go to the goal on the right; pushing it up against the top wall
# (no goal on that row) is a deadlock.
CORRIDOR = """\
#######
#     #
# $  .#
#@    #
#######"""


def _play(env, actions):
    out = []
    for a in actions:
        out.append(env.step(a))
    return out


def test_progress_telescopes_over_random_episodes():
    env = gym.make("densegym/Sokoban-medium-v0").unwrapped
    rng = np.random.default_rng(0)
    for seed in range(6):
        env.reset(seed=seed)
        first = env.state_view().phi
        total = 0.0
        while True:
            _, _, term, trunc, info = env.step(env.random_action(rng))
            total += info["reward_components"]["progress"]
            if term or trunc:
                break
        assert total == pytest.approx(env.state_view().phi - first, abs=1e-9)
        d, d0 = info["privileged"]["distance"], info["privileged"]["start_distance"]
        if d != -1:
            assert env.state_view().phi == pytest.approx(-d / d0)


def test_a_back_and_forth_cycle_earns_exactly_nothing():
    env = SokobanEnv(levels=CORRIDOR)
    env.reset(seed=0)
    rewards = [info["reward_components"]["progress"] for *_, info in _play(env, ["<action>right</action>", "<action>left</action>"] * 3)]
    assert rewards[0] != 0.0
    assert sum(rewards) == 0.0
    assert sum(rewards[:2]) == 0.0


def test_make_vec_steps_through_a_deadlock():
    """Info values keep their types when a level dies, so Gymnasium can batch them (a None used to break it)."""
    import gymnasium as gym

    envs = gym.make_vec("densegym/Sokoban-v0", num_envs=2, vectorization_mode="sync", levels=CORRIDOR,
                        max_turns=6)
    try:
        envs.reset(seed=0)
        envs.step(["<action>right</action>"] * 2)
        _, _, _, _, info = envs.step(["<action>up</action>", "<action>left</action>"])
        assert info["privileged"]["distance"][0] == -1 and info["privileged"]["distance"][1] >= 0
    finally:
        envs.close()


def test_deadlock_component_and_terminate_on_deadlock():
    for terminate in (False, True):
        env = SokobanEnv(levels=CORRIDOR, terminate_on_deadlock=terminate)
        env.reset(seed=0)
        # walk right under the box, then push it up into the top row
        _, _, term, _, info = _play(env, ["<action>right</action>"])[-1]
        assert info["reward_components"]["deadlock"] == 0.0 and not term
        obs, _, term, trunc, info = env.step("<action>up</action>")
        assert info["reward_components"]["deadlock"] == -1.0
        assert info["privileged"]["distance"] == -1
        assert info["reward_components"]["progress"] < 0
        assert term is terminate
        if terminate:
            assert info["success"] is False and info["outcome"] == 0.0 and "can no longer be solved" in obs
        else:
            _, _, _, _, info = env.step("<action>left</action>")
            assert info["reward_components"]["deadlock"] == 0.0  # already dead: no second penalty
            assert info["reward_components"]["progress"] == 0.0


def test_several_moves_per_turn_are_atomic():
    env = SokobanEnv(levels=CORRIDOR, moves_per_turn=3)
    env.reset(seed=0)
    before = env.anchor()
    obs, _, _, _, info = env.step("<action>right, right, left, up, up</action>")
    assert not info["action_valid"] and "at most 3" in info["action_error"]
    obs, _, _, _, info = env.step("<action>up up up</action>")  # the third move hits the wall
    assert not info["action_valid"] and "move 3 (up)" in info["action_error"] and "wall" in info["action_error"]
    assert env.anchor() == before
    _, _, _, _, info = env.step("<action>right RIGHT\nright</action>")
    assert info["action_valid"] and info["reward_components"]["format"] == 0.0


def test_illegal_moves_say_why():
    env = SokobanEnv(levels="#######\n#@$$..#\n#######")
    env.reset(seed=0)
    obs, _, _, _, info = env.step("<action>right</action>")
    assert not info["action_valid"] and "another box" in info["action_error"]
    obs, _, _, _, info = env.step("<action>left</action>")
    assert "a wall is in the way" in info["action_error"]
    assert info["reward_components"]["optimal"] == -1.0 and info["reward_components"]["format"] == -1.0


def test_same_seed_same_level_same_observations_and_rewards():
    def episode(seed):
        env = gym.make("densegym/Sokoban-small-v0")
        rng = np.random.default_rng(99)
        obs, info = env.reset(seed=seed)
        trace = [obs, info["task_id"]]
        for _ in range(20):
            obs, r, term, trunc, info = env.step(env.unwrapped.random_action(rng))
            trace += [obs, r, info["reward_components"]]
            if term or trunc:
                break
        return trace

    assert episode(11) == episode(11)
    assert episode(11) != episode(12)


def test_snapshot_restore_and_score_action_do_not_leak_state():
    env = gym.make("densegym/Sokoban-medium-v0").unwrapped
    env.reset(seed=3)
    rng = np.random.default_rng(1)
    snap = env.snapshot()
    anchor, turn = env.anchor(), env.turn
    actions = [env.random_action(rng) for _ in range(6)]
    first = [env.step(a)[:4] for a in actions]
    env.restore(snap)
    assert env.anchor() == anchor and env.turn == turn
    assert [env.step(a)[:4] for a in actions] == first
    env.restore(snap)
    reward, info = env.score_action(env.oracle_action())
    assert info["reward_components"]["optimal"] == 1.0
    assert env.anchor() == anchor and env.turn == turn


def test_anchor_identifies_states_not_paths():
    env = SokobanEnv(levels=CORRIDOR)
    env.reset(seed=0)
    start = env.anchor()
    _play(env, ["<action>up</action>", "<action>up</action>", "<action>right</action>"])
    a = env.anchor()
    env.reset(seed=0)
    _play(env, ["<action>up</action>", "<action>up</action>"] + ["<action>right</action>", "<action>right</action>", "<action>left</action>"])
    assert env.anchor() == a != start
    _, _, _, _, info = env.step("<action>down</action>")
    assert info["anchor"] == a  # info["anchor"] is the state before the action
    assert env.anchor() != a


def test_levels_file_tasks(tmp_path):
    levels = [Level.from_text(CORRIDOR, name="corridor"), Level.from_text("#####\n#@$.#\n#####", name="tiny")]
    path = tmp_path / "levels.txt"
    path.write_text(format_levels(levels))
    loaded = load_levels(path)
    assert [lv.to_text() for lv in loaded] == [lv.to_text() for lv in levels]
    env = gym.make("densegym/Sokoban-v0", levels=str(path))
    seen = {env.reset(seed=s)[1]["task_id"] for s in range(20)}
    assert seen == {"levels.txt:corridor", "levels.txt:tiny"}
    _, info = env.reset(options={"task": "tiny"})
    assert info["privileged"]["start_distance"] == 1
    _, r, term, _, info = env.step("<action>right</action>")
    assert term and info["success"] and info["reward_components"]["outcome"] == 1.0
    with pytest.raises(ValueError, match="unknown Sokoban task"):
        env.reset(options={"task": "nope"})
    bad = tmp_path / "bad.txt"
    bad.write_text("; 0\n#####\n#@$ #\n#####\n")
    with pytest.raises(ValueError, match="as many goals as boxes"):
        load_levels(bad)


def test_boxoban_format_round_trip_and_padding():
    text = "  ###\n @$.#\n  ###"
    level = Level.from_text(text)
    assert all(level.walls[i] for i in range(level.width))  # padded with a wall border
    assert Level.from_text(level.to_text()) == level
    with pytest.raises(ValueError, match="unknown characters"):
        Level.from_text("#####\n#@$x#\n#####")


def test_render_modes():
    env = gym.make("densegym/Sokoban-small-v0", render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    level = env.unwrapped.level
    assert img.shape == (level.height * 16, level.width * 16, 3) and img.dtype == np.uint8
    env.step(env.unwrapped.oracle_action())
    assert not np.array_equal(img, env.render())
    text_env = gym.make("densegym/Sokoban-small-v0", render_mode="ansi")
    obs, _ = text_env.reset(seed=0)
    assert text_env.render() in obs


def test_reward_weights_choose_the_scalar():
    env = gym.make("densegym/Sokoban-small-v0", rewards={"optimal": 2.0, "progress": 0.0, "format": 0.0})
    env.reset(seed=0)
    _, r, _, _, info = env.step(env.unwrapped.oracle_action())
    assert info["reward_weights"]["optimal"] == 2.0
    assert r == pytest.approx(2.0 * info["reward_components"]["optimal"] + info["reward_components"]["outcome"])


def test_an_unknown_word_is_named_with_the_accepted_moves():
    """'<action>move down</action>' is one unknown word, not two moves: the error names it and the moves."""
    env = gym.make("densegym/Sokoban-small-v0")
    env.reset(seed=0)
    obs, _, _, _, info = env.step("<action>move down</action>")
    assert not info["action_valid"]
    assert info["action_error"] == "unknown move 'move'; use up, down, left, right (one per turn)"
    assert "moves given" not in obs and "unknown move 'move'" in obs
    _, _, _, _, info = env.step("<action>up down</action>")  # known words: the count is what is wrong
    assert info["action_error"] == "2 moves given; at most 1 per turn"
    many = SokobanEnv(levels=CORRIDOR, moves_per_turn=3)
    many.reset(seed=0)
    _, _, _, _, info = many.step("<action>right, rihgt</action>")
    expected = "unknown move 'rihgt'; use up, down, left, right (up to 3 per turn, separated by spaces)"
    assert info["action_error"] == expected
    env.close()


@pytest.mark.parametrize("kwargs,turns", [({}, 35), ({"max_turns": 7}, 7), ({"moves_per_turn": 3}, 15)])
def test_the_prompt_states_the_turn_budget(kwargs, turns):
    """Like SQL and LSPCode, the reset prompt says how many turns the agent has (max_turns, here by difficulty)."""
    env = gym.make("densegym/Sokoban-small-v0", **kwargs)
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.max_turns == turns
    assert f"You have {turns} turns." in obs
    env.close()


def test_an_invalid_action_restates_the_unchanged_grid_and_every_position():
    """Under the ``current`` context the latest observation is all the policy sees: after an illegal move or a
    malformed answer it still shows the board, the same board, with the player's, boxes' and goals' positions."""
    env = SokobanEnv(levels=CORRIDOR)
    first, _ = env.reset(seed=0)
    grid = first[first.index("  0123456"):]
    assert "You are at (3, 1). Boxes at (2, 2). Goals at (2, 5)." in grid
    for bad in ("<action>left</action>", "no tags at all", "<action>jump</action>"):
        obs, _, _, _, info = env.step(bad)
        assert not info["action_valid"]
        assert obs.startswith("Invalid action: ") and info["action_error"] in obs
        assert "Nothing moved." in obs and obs.endswith(grid)
    obs, _, _, _, info = env.step("<action>right</action>")
    assert info["action_valid"] and "Goals at (2, 5)." in obs and not obs.endswith(grid)
