"""Registration: `import densegym` is cheap and registers every id; the `module:id` form needs no import.

Each check runs in a fresh interpreter (``sys.executable``) so that what this test process already
imported cannot hide an import that registration does (or fails to do).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from densegym.envs.registration import ENVS
from tests.helpers import require

HEAVY = ("densegym.envs.sokoban", "torch", "transformers", "playwright")


def run_fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"fresh interpreter failed:\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_registers_every_id_and_imports_nothing_heavy():
    out = run_fresh(
        f"""
        import json, sys
        import gymnasium as gym
        before = set(gym.registry)
        import densegym
        from densegym.envs.registration import ENVS
        added = sorted(set(gym.registry) - before)
        specs = {{i: [gym.spec(i).entry_point, gym.spec(i).kwargs] for i in added}}
        heavy = [m for m in {HEAVY!r} if m in sys.modules]
        print(json.dumps({{"added": added, "specs": specs, "heavy": heavy,
                          "families": sorted(m for m in sys.modules if m.startswith("densegym.envs.") and
                                             m.count(".") >= 2 and m.split(".")[2] not in
                                             ("base", "spaces", "registration"))}}))
        """
    )
    assert out["heavy"] == [], f"`import densegym` imported {out['heavy']}"
    assert out["families"] == [], f"`import densegym` imported env families: {out['families']}"
    assert sorted(out["added"]) == sorted(e.id for e in ENVS)
    for env in ENVS:
        entry_point, kwargs = out["specs"][env.id]
        assert isinstance(entry_point, str), "entry points must be strings (lazy import)"
        assert entry_point == env.entry_point
        # JSON turns tuples into lists; compare in that form.
        assert kwargs == json.loads(json.dumps(env.kwargs))


def test_import_twice_and_register_all_again_is_silent():
    out = run_fresh(
        """
        import importlib, json, warnings
        import gymnasium as gym
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import densegym
            from densegym.envs.registration import ENVS, register_all
            n = len(gym.registry)
            register_all()
            importlib.reload(densegym)
        print(json.dumps({"same": len(gym.registry) == n, "warnings": [str(w.message) for w in caught]}))
        """
    )
    assert out["same"]
    assert out["warnings"] == []


def test_module_prefixed_id_works_without_import():
    out = run_fresh(
        """
        import json, sys
        import gymnasium as gym
        assert "densegym" not in sys.modules
        env = gym.make("densegym:densegym/Sokoban-v0")
        obs, info = env.reset(seed=3)
        obs2, reward, terminated, truncated, info2 = env.step(env.unwrapped.oracle_action())
        print(json.dumps({"type": type(env.unwrapped).__name__, "obs": obs[:40], "valid": info2["action_valid"],
                          "id": env.spec.id, "loaded": "densegym" in sys.modules}))
        env.close()
        """
    )
    assert out["type"] == "SokobanEnv"
    assert out["id"] == "densegym/Sokoban-v0"
    assert out["obs"].startswith("You are playing Sokoban")
    assert out["valid"] is True
    assert out["loaded"] is True


def test_register_envs_idiom():
    """Every id makes its entry point's class, the registered kwargs reach the constructor, and making an env
    starts no process (the language server, a database server: those start at the first reset)."""
    out = run_fresh(
        """
        import glob, json, os
        import gymnasium as gym
        import densegym
        import densegym.sandbox
        gym.register_envs(densegym)
        from densegym.envs.registration import ENVS

        def children():
            found = []
            for path in glob.glob(f"/proc/{os.getpid()}/task/*/children"):
                with open(path) as f:
                    found += f.read().split()
            return found

        made, missing, spawned = [], {}, []
        for e in ENVS:
            try:
                env = gym.make(e.id)
            except (ImportError, densegym.sandbox.IsolationUnavailable) as exc:  # an extra, or bubblewrap, is missing
                missing[e.id] = str(exc)
                continue
            u = env.unwrapped
            probe = {"sokoban": lambda: list(u.dim_room),
                     "sql": lambda: [u.backend_kind, len(u.task_list)],
                     "lsp": lambda: sorted({t.split(":")[2] for t in u.task_ids}),
                     "web": lambda: [u.max_turns],
                     "search": lambda: [u.num_docs, u.retriever.kind],
                     "swe": lambda: [u.action_format, len(u.task_ids)]}[e.family]()
            made.append([e.id, type(u).__module__ + ":" + type(u).__name__, probe])
            spawned += children()
            env.close()
        print(json.dumps({"made": made, "missing": missing, "spawned": spawned,
                          "proc": os.path.isdir(f"/proc/{os.getpid()}/task")}))
        """
    )
    for env_id, message in out["missing"].items():
        require(False, f"{env_id} ({message})", "pip install 'densegym[all]' and apt-get install bubblewrap")
    made = {i: (cls, probe) for i, cls, probe in out["made"]}
    assert set(made) == {e.id for e in ENVS}
    if out["proc"]:
        assert out["spawned"] == [], "making an env started a process"
    for env in ENVS:
        cls, probe = made[env.id]
        assert cls == env.entry_point
        if env.family == "sokoban":
            # the registered kwargs reach the constructor
            assert probe == list(env.kwargs.get("dim_room", probe))
        elif env.family == "sql":
            assert probe == ["sqlite", 1380]  # the embedded default backend, every bundled task
        elif env.family == "lsp":
            assert probe == (["d1"] if env.kwargs.get("difficulty") == 1 else ["d1", "d2", "d3"])
        elif env.family == "web":
            assert probe == [30]  # the default max_turns
        elif env.family == "search":
            assert probe == [env.kwargs.get("num_docs", 50_000), "bm25"]  # the registered size, the default retriever
        elif env.family == "swe":  # the registered format; every bundled task, or the easy ones (difficulty 1-2)
            assert probe == [env.kwargs.get("action_format", "tools"), 216 if "difficulty" in env.kwargs else 360]


def test_the_listed_reward_components_are_the_envs_own():
    """`densegym list` shows each id's reward components and default weights from the registry's metadata
    without constructing the env; they must be what the env itself has, name for name, in its order."""
    out = run_fresh(
        """
        import json
        import gymnasium as gym
        import densegym
        from densegym.envs.registration import ENVS

        found, missing = {}, {}
        for e in ENVS:
            try:
                env = gym.make(e.id)
            except ImportError as exc:  # an extra that is not installed
                missing[e.id] = str(exc)
                continue
            found[e.id] = [[k, float(w)] for k, w in env.unwrapped.rewards.weights.items()]
            env.close()
        print(json.dumps({"found": found, "missing": missing}))
        """
    )
    for env in ENVS:  # a new family adds its Family(...) to FAMILIES in densegym/envs/registration.py
        assert env.rewards is not None, f"{env.id}: family {env.family!r} has no entry in registration.FAMILIES"
    for env_id, message in out["missing"].items():
        require(False, f"{env_id} ({message})", "pip install 'densegym[all]'")
    for env in ENVS:
        assert [list(r) for r in env.rewards] == out["found"][env.id], env.id


def test_a_missing_extra_is_reported_by_the_familys_own_message():
    out = run_fresh(
        """
        import json, sys
        sys.modules["sqlglot"] = None
        from densegym.envs.registration import ENVS
        print(json.dumps({e.id: e.unavailable() for e in ENVS}))
        """
    )
    for env in ENVS:
        if env.family == "sql":
            assert out[env.id] == "densegym.envs.sql needs the 'sql' extra: pip install 'densegym[sql]'"
        elif env.family == "sokoban":
            assert out[env.id] is None
