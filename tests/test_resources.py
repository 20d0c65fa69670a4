"""densegym.resources: a worker's shared resources (once per process, fresh after fork, closed at exit in
reverse order) and the library's named, bounded caches (cache_sizes, clear_caches)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import densegym
from densegym import resources
from tests.helpers import require, require_import

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_registry():
    resources.close_all()
    yield
    resources.close_all()


class Thing:
    def __init__(self, name: str, log: list | None = None):
        self.name, self.log, self.closed = name, log, 0
        self.pid = os.getpid()

    def close(self):
        self.closed += 1
        if self.log is not None:
            self.log.append(self.name)


# ---- shared resources -----------------------------------------------------------------------------------


def test_factory_runs_once_for_threads_asking_at_once():
    calls = []
    start = threading.Barrier(8)

    def factory():
        calls.append(1)
        time.sleep(0.05)  # a slow load: the other threads arrive while it runs
        return Thing("index")

    got = []

    def ask():
        start.wait()
        got.append(resources.shared("test.index", factory))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 8 and all(g is got[0] for g in got)
    assert resources.shared("test.index", factory) is got[0] and len(calls) == 1  # every later caller too
    assert resources.shared_keys() == ["test.index"]


def test_a_slow_factory_does_not_hold_up_other_keys():
    release = threading.Event()

    def slow():
        release.wait(5)
        return "slow"

    t = threading.Thread(target=resources.shared, args=("test.slow", slow))
    t.start()
    try:
        t0 = time.monotonic()
        assert resources.shared("test.fast", lambda: "fast") == "fast"
        assert time.monotonic() - t0 < 1.0
    finally:
        release.set()
        t.join()
    assert resources.shared("test.slow", lambda: "other") == "slow"


def _pid_of_shared(_=None):
    from densegym import resources as r

    thing = r.shared("test.per-process", lambda: Thing("child"))
    return thing.pid, thing.name


def test_a_spawned_process_gets_its_own_object():
    mine = resources.shared("test.per-process", lambda: Thing("parent"))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pid, name = pool.apply(_pid_of_shared)
    assert name == "child" and pid != mine.pid
    assert resources.shared("test.per-process", lambda: Thing("other")) is mine


def test_a_forked_child_makes_its_own_and_never_closes_the_parents(tmp_path):
    log = tmp_path / "closed"

    class Logged(Thing):
        def close(self):
            with open(log, "a") as fh:
                fh.write(f"{self.name}@{os.getpid()}\n")

    parent = resources.shared("test.per-process", lambda: Logged("parent"))
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()

    def child():
        thing = resources.shared("test.per-process", lambda: Logged("child"))
        q.put((thing.name, thing.pid, resources.shared_keys()))
        # no close_all here: a fork child leaves through os._exit (no atexit), and still closes its own

    p = ctx.Process(target=child)
    p.start()
    name, pid, keys = q.get(timeout=30)
    p.join(30)
    assert p.exitcode == 0
    assert name == "child" and pid == p.pid and keys == ["test.per-process"]
    assert log.read_text() == f"child@{p.pid}\n"  # its own, at its exit; never the parent's
    assert resources.shared("test.per-process", lambda: Logged("again")) is parent  # and the parent keeps it


_AT_EXIT = """
import sys
from densegym import resources

marker = sys.argv[1]

class Closes:
    def __init__(self, name):
        self.name = name
    def close(self):
        with open(marker, "a") as fh:
            fh.write(self.name + "\\n")

resources.shared("a", lambda: Closes("a"))
resources.shared("b", lambda: object(), close=lambda obj: open(marker, "a").write("b (close=)\\n"))
resources.shared("c", lambda: Closes("never"), close=False)
resources.shared("d", lambda: 42)  # nothing to close
resources.shared("e", lambda: Closes("e"))
print("created", flush=True)
"""


def test_resources_are_closed_at_exit_newest_first(tmp_path):
    marker = tmp_path / "marker"
    proc = subprocess.run([sys.executable, "-c", _AT_EXIT, str(marker)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "created" in proc.stdout and proc.stderr == ""
    assert marker.read_text().splitlines() == ["e", "b (close=)", "a"]


def test_close_all_closes_newest_first_and_a_failing_close_does_not_stop_the_others():
    log: list[str] = []
    a = resources.shared("a", lambda: Thing("a", log))
    resources.shared("broken", lambda: object(), close=lambda obj: 1 / 0)
    resources.shared("c", lambda: Thing("c", log))
    with pytest.warns(RuntimeWarning, match="broken"):
        resources.close_all()
    assert log == ["c", "a"] and a.closed == 1 and resources.shared_keys() == []
    again = resources.shared("a", lambda: Thing("a2", log))  # forgotten: the next call makes a new one
    assert again is not a and again.name == "a2"
    assert resources.close("a") is True and again.closed == 1 and resources.close("a") is False


def test_a_failing_factory_is_not_cached_and_its_error_propagates_unchanged():
    error = OSError("index file missing")
    calls = []

    def factory():
        calls.append(1)
        if len(calls) == 1:
            raise error
        return Thing("index")

    with pytest.raises(OSError) as info:
        resources.shared("test.flaky", factory)
    assert info.value is error and resources.shared_keys() == []
    thing = resources.shared("test.flaky", factory)
    assert thing.name == "index" and len(calls) == 2
    assert resources.shared("test.flaky", factory) is thing and len(calls) == 2


def test_a_factory_that_asks_for_its_own_key_fails_instead_of_deadlocking():
    def factory():
        return resources.shared("test.loop", factory)

    with pytest.raises(RuntimeError, match="asks for"):
        resources.shared("test.loop", factory)
    assert resources.shared("test.loop", lambda: "fine") == "fine"


# ---- named caches ---------------------------------------------------------------------------------------

CACHES = {
    "envs.action_tags", "envs.tag_patterns", "sokoban.parsed_actions", "sokoban.oracles", "lsp.initial_runs",
    "lsp.tasks", "lsp.catalog", "lsp.server_versions", "sql.parsed_queries", "sql.generated_tasks",
    "models.tiny_vocab",
}  # fmt: skip


def _import_families():
    import densegym.envs.sokoban.env  # noqa: F401

    require_import("sqlglot", "pip install 'densegym[sql]'")
    import densegym.envs.sql.env  # noqa: F401

    require_import("lsprotocol", "pip install 'densegym[lsp]'")
    import densegym.envs.lsp.env  # noqa: F401


def _sizes() -> dict[str, int]:
    return {name: s.size for name, s in resources.cache_sizes().items()}


def test_lru_cache_keeps_the_most_recently_used():
    lru = resources.LRUCache("test", 3)
    for k in "abc":
        lru.put(k, k.upper())
    assert lru.get("a") == "A"  # a is now the most recent
    lru.put("d", "D")
    assert "b" not in lru and len(lru) == 3 and lru.get("b", "none") == "none"
    assert [lru.get(k) for k in "acd"] == ["A", "C", "D"]
    lru.clear()
    assert len(lru) == 0
    with pytest.raises(ValueError):
        resources.LRUCache("test", 0)


def test_every_cache_is_named_grows_when_used_is_bounded_and_clear_caches_empties_them_all(tmp_path):
    _import_families()
    from densegym.envs.base import extract_tag
    from densegym.envs.lsp.tasks import catalog, generate
    from densegym.envs.sokoban.env import SokobanEnv
    from densegym.envs.sokoban.level import MOVES, Level
    from densegym.envs.sokoban.oracle import oracle_for
    from densegym.envs.sql import SQLEnv
    from densegym.envs.sql.guard import parse

    sizes = resources.cache_sizes()
    assert CACHES <= set(sizes), CACHES - set(sizes)
    assert all(s.maxsize is None or s.maxsize >= 1 for s in sizes.values())
    assert isinstance(resources.get_cache("sokoban.oracles"), resources.LRUCache)
    assert isinstance(resources.get_cache("lsp.initial_runs"), resources.LRUCache)
    assert isinstance(resources.get_cache("sql.generated_tasks"), resources.LRUCache)
    densegym.clear_caches()
    assert all(n == 0 for n in _sizes().values()), _sizes()

    # a Sokoban episode fills the tag, parsed action and oracle caches
    env = SokobanEnv(dim_room=(6, 6), num_boxes=1, max_turns=30)
    env.reset(seed=3)
    done = False
    while not done:
        _, _, term, trunc, _ = env.step(f"I push. {env.oracle_action()}")
        done = term or trunc
    extract_tag("é <action>up</action>", "action")  # non-ASCII text goes through the compiled patterns
    # an SQL episode: the task is realized once, its queries parsed once
    sql = SQLEnv(rows=300, cache_dir=tmp_path / "sql", max_turns=5)
    try:
        sql.reset(options={"task": "gen:retail:300:0:numeric_filter:0"})
        sql.step("<sql>SELECT COUNT(*) FROM products</sql>")
    finally:
        sql.close()
    generate("lsp:inventory:d1:0")
    catalog()
    used = _sizes()
    for name in ("envs.action_tags", "envs.tag_patterns", "sokoban.parsed_actions", "sokoban.oracles",
                 "sql.generated_tasks", "sql.parsed_queries", "lsp.tasks", "lsp.catalog"):  # fmt: skip
        assert used[name] > 0, name

    # bounded: push each cheap one past its maxsize
    for i in range(200):
        extract_tag(f"<t{i}>x</t{i}>", f"t{i}")
        extract_tag(f"é <t{i}>x</t{i}>", f"t{i}")
    env2 = SokobanEnv(moves_per_turn=3)
    words = ["up", "down", "left", "right", "Up", "DOWN", "Left", "rIght"]
    seps = (" ", ",", ", ", "  ", " ,", ";", "; ", "\t", " \t", ",,")
    bodies = [f"{a}{sep}{b}{sep}{c}" for a in words for b in words for c in words for sep in seps]
    assert len(bodies) > 4096 + 100
    for body in bodies:
        assert len(env2.parse_action(f"<action>{body}</action>")) == 3
    tiny = Level.from_text("#####\n#@$.#\n#####")
    for i in range(600):
        oracle_for(tiny, max_states=1_000 + i)
    for i in range(600):
        parse(f"SELECT {i}", "sqlite")
    sizes = resources.cache_sizes()
    for name in ("envs.tag_patterns", "sokoban.parsed_actions", "sokoban.oracles", "sql.parsed_queries"):
        assert sizes[name].size == sizes[name].maxsize, (name, sizes[name])  # full, and no further
    assert 0 < sizes["envs.action_tags"].size <= sizes["envs.action_tags"].maxsize  # emptied when full
    assert all(s.maxsize is None or s.size <= s.maxsize for s in sizes.values()), sizes

    # the same env still works after clear_caches: the caches are only caches
    densegym.clear_caches()
    assert all(n == 0 for n in _sizes().values()), _sizes()
    assert env2.parse_action("<action>up, left</action>") == [MOVES.index("up"), MOVES.index("left")]
    env.reset(seed=3)
    assert _sizes()["sokoban.oracles"] == 1


def test_the_lsp_initial_run_is_cached_per_task_and_cleared():
    require_import("lsprotocol", "pip install 'densegym[lsp]'")
    from densegym.envs.lsp.servers import server_available
    from densegym.sandbox import bubblewrap_path

    require(server_available("basedpyright"), "the basedpyright language server", "pip install 'densegym[lsp]'")
    require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")
    from densegym.envs.lsp import LSPCodeEnv

    densegym.clear_caches()
    env = LSPCodeEnv(test_timeout_s=30, server_timeout_s=30, use_bubblewrap=True)
    try:
        env.reset(options={"task": "lsp:inventory:d1:0"})
        assert resources.cache_sizes()["lsp.initial_runs"].size == 1
        env.reset(options={"task": "lsp:inventory:d1:0"})  # a group's second sample: no new test run
        assert resources.cache_sizes()["lsp.initial_runs"].size == 1
        env.reset(options={"task": "lsp:ledger:d1:0"})
        assert resources.cache_sizes()["lsp.initial_runs"].size == 2
        densegym.clear_caches()
        assert resources.cache_sizes()["lsp.initial_runs"].size == 0
        env.reset(options={"task": "lsp:inventory:d1:0"})  # recomputed after a clear
        assert resources.cache_sizes()["lsp.initial_runs"].size == 1
    finally:
        env.close()


def test_importing_densegym_stays_cheap_and_clear_caches_needs_no_family():
    code = ("import sys, densegym; densegym.clear_caches(); "
            "print(sorted(m for m in sys.modules if m.startswith('densegym.envs.') or m == 'torch'))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = eval(out.stdout.strip())
    assert not any(m.startswith(("densegym.envs.sokoban", "densegym.envs.sql", "densegym.envs.lsp")) for m in loaded)
    assert "torch" not in loaded
