"""Gymnasium compatibility: `check_env` on every id, `make_vec` sync/async against single envs, TextSpace shm."""

from __future__ import annotations

import copy
import multiprocessing as mp
import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector.utils import shared_memory as shm

import densegym  # noqa: F401 - registers the ids
from densegym.envs import TextSpace
from densegym.envs.registration import ENVS

from tests.helpers import require

# The LSP ids differ only in their task filter; each check_env of one starts a language server and runs the
# hidden tests (about 7-10 s on 2 cores), so one of them stands for the family. The SearchQA ids differ only in
# the world's size; SearchQA-small-v0 (5,000 documents) stands for the 50,000-document one. The SWE ids share
# the env and its tasks; SWE-bash-v0 stands for them.
_CHECK_ONCE = {"densegym/LSPCode-v0", "densegym/SearchQA-v0", "densegym/SWE-v0", "densegym/SWE-easy-v0"}
IDS = [e.id for e in ENVS if e.id not in _CHECK_ONCE]
FAMILY = {e.id: e.family for e in ENVS}


def require_family(env_id: str) -> None:
    """The real component a family's env needs: skipped locally, a failure under CI=true, when missing."""
    family = FAMILY[env_id]
    if family == "sql":
        try:
            import sqlglot  # noqa: F401
        except ImportError:
            require(False, "sqlglot", "pip install 'densegym[sql]'")
    elif family == "lsp":
        try:
            from densegym.envs.lsp.servers import server_available
        except ImportError:
            require(False, "pygls and lsprotocol", "pip install 'densegym[lsp]'")
        require(server_available("basedpyright"), "the basedpyright language server", "pip install 'densegym[lsp]'")
        from densegym.sandbox import bubblewrap_path

        require(bubblewrap_path() is not None, "bubblewrap (isolates the hidden tests)", "apt-get install bubblewrap")
    elif family == "search":
        try:
            import bm25s  # noqa: F401
        except ImportError:
            require(False, "bm25s", "pip install 'densegym[search]'")
    elif family == "swe":
        from densegym.sandbox import bubblewrap_path, docker_available

        require(docker_available() or bubblewrap_path() is not None, "Docker with the sandbox image, or bubblewrap",
                "apt-get install docker.io (then bash docker/build.sh) or apt-get install bubblewrap")
    elif family == "web":
        from tests.envs.web.conftest import INSTALL, web_available

        require(web_available(), "Chromium with Playwright, Starlette and uvicorn", INSTALL)


def test_every_family_is_checked():
    assert {FAMILY[i] for i in IDS} == set(FAMILY.values())


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    require_family(env_id)
    env = gym.make(env_id)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env.unwrapped)
        # check_env reports soft problems (non-determinism, space mismatches, ...) as warnings: allow none.
        assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    finally:
        env.close()


# ---- make_vec against single envs ------------------------------------------------------------------

N_ENVS = 3


def _actions(singles, t):
    """Env 0 plays the oracle, env 1 alternates garbage and the oracle, env 2 plays a fixed cycle."""
    cycle = ["<action>up</action>", "<action>LEFT</action>", "think... <action>down</action>", "<action>right"]
    a0 = singles[0].unwrapped.oracle_action()
    a1 = singles[1].unwrapped.oracle_action() if t % 2 else "🙂 no tags, 中文 ünïcode"
    a2 = cycle[t % len(cycle)]
    return [a0, a1, a2]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "env_id, n_steps",  # longer than an oracle solve (at most 15 / 30 moves), so an autoreset happens
    [("densegym/Sokoban-small-v0", 18), ("densegym/Sokoban-medium-v0", 34)],
)
def test_make_vec_matches_single_envs(env_id, n_steps, mode):
    seeds = [11, 12, 13]
    singles = [gym.make(env_id) for _ in range(N_ENVS)]
    vec = gym.make_vec(env_id, num_envs=N_ENVS, vectorization_mode=mode)
    try:
        assert isinstance(vec.single_observation_space, TextSpace)
        vec_obs, vec_info = vec.reset(seed=seeds)
        ref_obs = [env.reset(seed=s)[0] for env, s in zip(singles, seeds)]
        assert tuple(vec_obs) == tuple(ref_obs)
        assert all(len(o) > 100 for o in vec_obs)
        assert list(vec_info["task_id"]) == [env.unwrapped.task_id(env.unwrapped.task) for env in singles]

        ended = [False] * N_ENVS
        saw_end = saw_invalid = False
        for t in range(n_steps):
            actions = _actions(singles, t)
            ref = []
            for i, env in enumerate(singles):
                if ended[i]:  # gymnasium's default NEXT_STEP autoreset: this step resets, reward 0
                    obs, _ = env.reset()
                    ref.append((obs, 0.0, False, False))
                    ended[i] = False
                    continue
                obs, reward, terminated, truncated, info = env.step(actions[i])
                ref.append((obs, reward, terminated, truncated))
                ended[i] = terminated or truncated
                saw_end |= ended[i]
                saw_invalid |= not info["action_valid"]
            vec_obs, rewards, terms, truncs, infos = vec.step(tuple(actions))
            assert tuple(vec_obs) == tuple(r[0] for r in ref), f"step {t}: observations differ ({mode})"
            assert rewards.tolist() == [r[1] for r in ref], f"step {t}: rewards differ ({mode})"
            assert terms.tolist() == [r[2] for r in ref]
            assert truncs.tolist() == [r[3] for r in ref]
        assert saw_end and saw_invalid  # the run covered an episode end (autoreset) and an invalid action
    finally:
        vec.close()
        for env in singles:
            env.close()


def vec_against_singles(env_id, seeds, mode, policy, n_steps, **kwargs):
    """Step ``make_vec(env_id)`` and one single env per seed with the same actions (``policy(i, t, env)``),
    the singles doing gymnasium's NEXT_STEP autoreset by hand; every observation, reward and termination must
    agree. Returns the vector env's steps for further checks."""
    singles = [gym.make(env_id, **kwargs) for _ in seeds]
    vec = gym.make_vec(env_id, num_envs=len(seeds), vectorization_mode=mode, **kwargs)
    steps = []
    try:
        vec_obs, _ = vec.reset(seed=seeds)
        assert tuple(vec_obs) == tuple(env.reset(seed=s)[0] for env, s in zip(singles, seeds))
        steps.append((tuple(vec_obs), None, None))
        ended = [False] * len(seeds)
        for t in range(n_steps):
            actions, expected = [], []
            for i, env in enumerate(singles):
                action = policy(i, t, env)
                if ended[i]:
                    expected.append((env.reset()[0], 0.0, False))
                    ended[i] = False
                else:
                    obs, reward, term, trunc, _ = env.step(action)
                    expected.append((obs, reward, term))
                    ended[i] = term or trunc
                actions.append(action)
            obs, rewards, terms, _, _ = vec.step(tuple(actions))
            assert list(zip(obs, rewards.tolist(), terms.tolist())) == expected, (mode, t)
            steps.append((tuple(obs), rewards.tolist(), terms.tolist()))
    finally:
        vec.close()
        for env in singles:
            env.close()
    return steps


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_sql_matches_single_envs(mode):
    """Explore, answer (the episode ends), then the autoreset step, on the registered id."""
    require_family("densegym/SQL-v0")

    def policy(i, t, env):
        return env.unwrapped.oracle_action() if t < 2 else "<sql>SELECT 1</sql>"

    steps = vec_against_singles("densegym/SQL-v0", [1, 2, 3], mode, policy, 3, rows=300)
    obs, _, terms = steps[2]
    assert all(terms) and all(o.startswith("Answer submitted. It is correct") for o in obs)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_lsp_matches_single_envs(mode):
    """Env 0 plays the oracle (fix, submit, then the autoreset step), env 1 sends garbage then lists files.
    Two envs: each one starts its own language server."""
    require_family("densegym/LSPCode-easy-v0")

    def policy(i, t, env):
        if i == 0 and t < 2:
            return env.unwrapped.oracle_action()
        return "no tags 🙂" if (i, t) == (1, 0) else "<action>files</action>"

    steps = vec_against_singles("densegym/LSPCode-easy-v0", [4, 5], mode, policy, 3)
    assert all(o.startswith("You are fixing the Python package") for o in steps[0][0])
    assert steps[1][0][1].startswith("Invalid action") and steps[1][1][1] < 0
    assert steps[2][2][0] and steps[2][0][0].startswith("Submitted. Solved.")
    assert steps[3][0][0].startswith("You are fixing the Python package")  # the autoreset


# ---- TextSpace shared memory ---------------------------------------------------------------------

SAMPLES = ["héllo 🙂 wörld", "中文字符测试 🐍🎉 한국어 日本語", "", "a\n\tb\x00c 🙂\U0010FFFF"]


def test_text_space_shared_memory_round_trip():
    space = TextSpace(max_length=32)
    at_max = ("🙂中" * 16)[:32]
    values = SAMPLES + [at_max]
    assert all(space.contains(v) for v in values)
    mem = shm.create_shared_memory(space, n=len(values), ctx=mp.get_context())
    for i, v in enumerate(reversed(values)):  # write in an order unlike the read order
        shm.write_to_shared_memory(space, len(values) - 1 - i, v, mem)
    assert tuple(shm.read_from_shared_memory(space, mem, n=len(values))) == tuple(values)

    # Overwriting a slot with a shorter string leaves no trace of the longer one.
    shm.write_to_shared_memory(space, 4, "x", mem)
    assert shm.read_from_shared_memory(space, mem, n=len(values))[4] == "x"
    assert tuple(shm.read_from_shared_memory(space, mem, n=len(values)))[:4] == tuple(SAMPLES)


def test_text_space_shared_memory_lone_surrogates():
    """TextSpace contains any ``str``, lone surrogates included (what ``json.loads('"\\ud800"')`` gives, e.g.
    from an HTTP agent); the shared-memory layout must carry them too."""
    space = TextSpace(max_length=8)
    values = ("a\ud800b", "\udfff")
    assert all(space.contains(v) for v in values)
    mem = shm.create_shared_memory(space, n=2, ctx=mp.get_context())
    for i, v in enumerate(values):
        shm.write_to_shared_memory(space, i, v, mem)
    assert tuple(shm.read_from_shared_memory(space, mem, n=2)) == values


def test_text_space_shared_memory_view_tracks_later_writes():
    """AsyncVectorEnv calls ``read_from_shared_memory`` ONCE, when it is built, and then returns (a deepcopy
    of) that object after every reset/step while the workers write into the buffer. For Box spaces the
    object is a numpy view of the buffer; for a text space it must likewise reflect writes made after the
    read, or every async observation stays what the buffer held at construction (empty strings)."""
    space = TextSpace(max_length=16)
    mem = shm.create_shared_memory(space, n=2, ctx=mp.get_context())
    view = shm.read_from_shared_memory(space, mem, n=2)  # read before any write, like AsyncVectorEnv
    shm.write_to_shared_memory(space, 0, "🙂 first", mem)
    shm.write_to_shared_memory(space, 1, "中文", mem)
    assert tuple(copy.deepcopy(view)) == ("🙂 first", "中文")


def test_async_vector_env_observations_are_not_empty():
    """The user-visible symptom of the test above, on the smallest possible run."""
    vec = gym.make_vec("densegym/Sokoban-small-v0", num_envs=2, vectorization_mode="async")
    try:
        obs, _ = vec.reset(seed=0)
        assert all(o.startswith("You are playing Sokoban") for o in obs), [o[:30] for o in obs]
        obs, *_ = vec.step(("<action>up</action>", "nonsense"))
        assert obs[1].startswith("Invalid action"), obs[1][:30]
    finally:
        vec.close()


def test_text_space_contains_any_unicode_and_samples_are_members():
    space = TextSpace(max_length=8, seed=0)
    assert space.contains("🙂" * 8) and space.contains("")
    assert not space.contains("a" * 9)
    assert not space.contains(b"abc") and not space.contains(None)
    assert all(space.contains(space.sample()) for _ in range(50))
    assert space == TextSpace(max_length=8) and space != TextSpace(max_length=9)
