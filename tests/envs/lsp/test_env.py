"""LSPCode-v0 end to end with the real language server and real sandboxed pytest runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import require_import

require_import("lsprotocol", "pip install 'densegym[lsp]'")

from densegym.envs.lsp.rewards import lanser_reward
from densegym.envs.lsp.tasks import DOMAINS, LspTask, generate
from densegym.sandbox.processes import live_processes_in_group


def act(body: str) -> str:
    return f"<action>{body}</action>"


def custom_task(domain: str, files: dict[str, str], name: str) -> LspTask:
    d = DOMAINS[domain]
    return LspTask(f"custom:{name}", domain, 1, {**d.files, **files}, dict(d.files), d.tests, ())


# ---- solving, and the rewards of a whole episode --------------------------------------------------------


def test_oracle_solves_a_hard_task_and_the_dense_rewards_pay(lsp_env):
    obs, info = lsp_env.reset(options={"task": "lsp:textkit:d3:2"})
    d0, phi0 = info["privileged"]["diag_count"], info["privileged"]["tests_fraction"]
    assert d0 > 0 and "Hidden tests passing now" in obs
    totals: dict[str, float] = {}
    for _ in range(10):
        obs, reward, terminated, truncated, info = lsp_env.step(lsp_env.oracle_action())
        for k, v in info["reward_components"].items():
            totals[k] = totals.get(k, 0.0) + v
        if terminated or truncated:
            break
    assert terminated and info["success"] and info["outcome"] == 1.0
    assert phi0 < 1.0 and totals["outcome"] == 1.0 and totals["tests"] == pytest.approx(1.0 - phi0)
    # Dense (Eq. 5.1 per turn): the drops telescope to D_0 - D_T = D_0; each oracle edit is safe.
    assert info["reward_components"]["diagnostics"] == 0.0 and info["reward_components"]["safety"] == 0.0  # submit
    assert totals["diagnostics"] == pytest.approx(d0)
    assert totals["safety"] >= 1.0


def test_deleting_code_to_silence_diagnostics_does_not_pay(lsp_env):
    tid = next(t for t in ("lsp:inventory:d1:0", "lsp:ledger:d1:0") if generate(t).defects[0].op == "undefined_name")
    task = generate(tid)
    lsp_env.reset(options={"task": tid})
    defect = task.defects[0]
    module = defect.file[:-3].replace("/", ".")
    function = defect.note.rsplit(" in ", 1)[1].rstrip("()")
    _, _, _, _, info = lsp_env.step(act(f"edit py://{module}#{function}\n"))
    lsp = info["lsp"]
    assert lsp["diag_delta"] > 0  # the checker is silenced ...
    assert lsp["safety_ok"] is False and f"{module}:{function}" in lsp["removed_symbols"]  # ... but flagged
    c = info["reward_components"]
    assert c["diagnostics"] == lsp["diag_delta"] > 0 and c["safety"] == 0.0  # Eq. 5.1 pays the drop on the turn ...
    _, _, terminated, _, info = lsp_env.step(act("submit"))
    assert terminated and not info["success"]  # ... and the gated transform takes it back (test_dense_default.py)


# ---- Eq. 5.1 turn by turn with the real server -----------------------------------------------------------

FIVE_ERRORS = '''"""Five errors in one function."""

from inventory.items import Item


def broken(item: Item) -> float:
    a = item.unit_prise
    b = item.weigth_kg
    c = undefined_one
    d = undefined_two
    e = undefined_three
    return a + b + c + d + e
'''

TWO_LEFT = '''def broken(item: Item) -> float:
    a = item.unit_price
    b = item.weight_kg
    c = 1.0
    d = undefined_two
    e = undefined_three
    return a + b + c + d + e
'''


def test_worked_example_shape_with_the_real_server(lsp_env):
    """D: 5 -> 2 with a structural selector (alpha = 1) and a safe edit: r = 0.5 * 3 + 0.4 = 1.9 (Eq. 5.1)."""
    lsp_env.reset(options={"task": custom_task("inventory", {"inventory/extra.py": FIVE_ERRORS}, "five")})
    assert lsp_env._view.d == 5.0
    weights = {"diagnostics": 0.5, "safety": 0.4, "ambiguity": 0.1}
    _, reward, _, _, info = lsp_env.step(act(f"edit py://inventory.extra#broken\n{TWO_LEFT}"))
    c = info["reward_components"]
    assert info["lsp"]["diag_count"] == 2.0 and info["lsp"]["safety_ok"] is True and info["lsp"]["alpha_conf"] == 1.0
    assert sum(weights[k] * c[k] for k in weights) == pytest.approx(lanser_reward(5, 2, 1, 1.0)) == pytest.approx(1.9)
    # A fuzzy anchor (alpha < 1): the components still rebuild Eq. 5.1 exactly.
    _, _, _, _, info = lsp_env.step(act('edit anchor://inventory/extra.py#"d = undefined_2"\nd = 2.0'))
    c, lsp = info["reward_components"], info["lsp"]
    assert 0.6 <= lsp["alpha_conf"] < 1.0 and lsp["diag_count"] == 1.0
    expected = lanser_reward(2, 1, 1, lsp["alpha_conf"])
    assert sum(weights[k] * c[k] for k in weights) == pytest.approx(expected, abs=1e-12)


# ---- language-server actions ------------------------------------------------------------------------------


def test_rename_changes_every_call_site(lsp_env):
    lsp_env.reset(options={"task": custom_task("geometry", {}, "rename")})
    before = {f: lsp_env.ws.read(f) for f in lsp_env.ws.files(".py")}
    uses = sum(text.count("distance") for text in before.values())
    assert uses >= 4  # the definition, an import and two calls
    _, _, _, _, info = lsp_env.step(act("rename py://geometry.vectors#distance dist_between"))
    assert info["action_valid"], info["action_error"]
    after = {f: lsp_env.ws.read(f) for f in lsp_env.ws.files(".py")}
    assert sum(t.count("distance") for t in after.values()) == 0
    assert sum(t.count("dist_between") for t in after.values()) == uses
    assert lsp_env._diags == [] and info["lsp"]["safety_ok"] is True and info["lsp"]["removed_symbols"] == []


def test_rename_refused_where_nothing_is_renamable(lsp_env):
    lsp_env.reset(options={"task": custom_task("geometry", {}, "rename2")})
    digest = lsp_env.ws.digest()
    _, _, _, _, info = lsp_env.step(act("rename geometry/vectors.py@L1:C1 other"))
    assert not info["action_valid"] and lsp_env.ws.digest() == digest


def test_hover_definition_references_and_views(lsp_env):
    lsp_env.reset(options={"task": custom_task("ledger", {}, "nav")})
    obs, *_ = lsp_env.step(act("hover py://ledger.transfers#transfer"))
    assert "def transfer" in obs and "source: Account" in obs
    transfers = lsp_env.ws.read("ledger/transfers.py").split("\n")
    row = next(i for i, line in enumerate(transfers) if "source.withdraw(cents)" in line)
    col = transfers[row].index("withdraw") + 1
    obs, _, _, _, info = lsp_env.step(act(f"definition ledger/transfers.py@L{row + 1}:C{col}"))
    accounts = lsp_env.ws.read("ledger/accounts.py").split("\n")
    def_row = next(i for i, line in enumerate(accounts) if "def withdraw" in line)
    assert f"ledger/accounts.py:{def_row + 1}:9  def withdraw" in obs, obs
    obs, *_ = lsp_env.step(act("references py://ledger.accounts#Account"))
    assert "ledger/interest.py" in obs and "ledger/transfers.py" in obs
    obs, *_ = lsp_env.step(act("view ledger/accounts.py:8-9"))
    assert obs.splitlines()[1].startswith("   8 | class Account")
    obs, _, _, _, info = lsp_env.step(act("diagnostics"))
    assert obs == "Diagnostics: none." and info["action_valid"]


# ---- hostile input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        act("view ../../etc/passwd"),
        act("view /etc/passwd"),
        act("edit /tmp/evil.py\nprint('x')"),
        act("edit ../evil.py\nprint('x')"),
        act("edit pyrightconfig.json\n{}"),
        act("edit ledger/notes.txt\nhello"),
        act("diagnostics ../../etc"),
        act("edit ledger/accounts.py\x00\nx"),
        act("frobnicate everything"),
        act("rename py://ledger.accounts#Account class"),
        "no tags at all 🙂 中文",
        act("view " + "a/" * 5000 + "x.py"),
        act("edit ledger/accounts.py\n" + "x" * 15_000),
        act("edit conftest.py\ndef pytest_runtest_makereport(item, call):\n    pass\n"),
        act("edit ledger/hack.py\nimport _pytest.reports\n"),
        act("edit ledger/__init__.py\nimport os\nos._exit(0)\n"),
        act("edit ledger/__init__.py\nfrom sys import modules\n"),
        act("edit ledger/__init__.py\n__builtins__['len'] = None\n"),
    ],
)
def test_hostile_actions_change_nothing(lsp_env, action):
    lsp_env.reset(options={"task": custom_task("ledger", {}, "hostile")})
    digest = lsp_env.ws.digest()
    obs, reward, terminated, truncated, info = lsp_env.step(action)
    if "x" * 15_000 in action:  # a big but legal edit is accepted; the rest must be refused
        assert info["action_valid"]
        return
    assert not info["action_valid"] and info["reward_components"]["format"] == -1.0
    assert obs.startswith("Invalid action:") and not terminated
    assert lsp_env.ws.digest() == digest
    assert not Path("/tmp/evil.py").exists()
    # ... and the env keeps working.
    _, _, _, _, info = lsp_env.step(act("files"))
    assert info["action_valid"]


def test_megabyte_action_is_refused(lsp_env):
    lsp_env.reset(options={"task": custom_task("ledger", {}, "huge")})
    obs, _, _, _, info = lsp_env.step(act("edit ledger/accounts.py\n" + "x" * 2_000_000))
    assert not info["action_valid"] and "characters long" in obs


def test_planted_symlink_is_not_followed(lsp_env, tmp_path):
    lsp_env.reset(options={"task": custom_task("ledger", {}, "symlink")})
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 1\n")
    os.symlink(secret, lsp_env.ws.root / "ledger" / "link.py")
    try:
        for action in ("view ledger/link.py", "edit ledger/link.py\nx = 2\n", "view anchor://ledger/link.py#SECRET"):
            _, _, _, _, info = lsp_env.step(act(action))
            assert not info["action_valid"] and "symlink" in info["action_error"]
        assert secret.read_text() == "SECRET = 1\n"
    finally:
        (lsp_env.ws.root / "ledger" / "link.py").unlink()


def test_unicode_edit_keeps_the_server_in_sync(lsp_env):
    lsp_env.reset(options={"task": custom_task("ledger", {}, "unicode")})
    line = '    """Emoji 😀 and ünïcode: columns count in UTF-16."""\n'
    _, _, _, _, info = lsp_env.step(act(f"edit ledger/transfers.py:6\ndef transfer(source: Account, target: Account, cents: int) -> None:\n{line}"))
    assert info["action_valid"] and lsp_env._diags == []
    _, _, _, _, info = lsp_env.step(act('edit anchor://ledger/transfers.py#"target.deposit(cents)"\ntarget.deposit(centz)'))
    assert [d["range"] for d in lsp_env._diags if d["rule"] == "reportUndefinedVariable"] == [[8, 19, 8, 24]]


# ---- tests in the sandbox ---------------------------------------------------------------------------------


def test_test_code_cannot_touch_the_workspace_or_the_host(lsp_env):
    lsp_env.reset(options={"task": custom_task("ledger", {}, "tamper")})
    target = lsp_env.ws.root / "ledger" / "accounts.py"
    original = target.read_text()
    escape = Path(sys.prefix) / "densegym-tamper.txt"
    evil = (
        "import pathlib\n"
        f"pathlib.Path({str(target)!r}).write_text('hacked')\n"
        f"pathlib.Path({str(escape)!r}).write_text('hacked')\n"
    )
    lsp_env.step(act(f"edit ledger/__init__.py\n{evil}"))
    obs, _, _, _, info = lsp_env.step(act("run_tests"))
    assert target.read_text() == original and not escape.exists()


def test_infinite_loop_and_output_flood_in_tests_are_stopped(lsp_env):
    lsp_env.reset(options={"task": custom_task("ledger", {}, "loop")})
    lsp_env.step(act("edit ledger/__init__.py\nwhile True:\n    pass\n"))
    obs, _, _, _, info = lsp_env.step(act("run_tests"))
    assert "stopped after" in obs and info["lsp"]["tests_passed"] == 0
    lsp_env.step(act("edit ledger/__init__.py\nimport sys\nwhile True:\n    sys.stdout.write('spam ' * 10000)\n"))
    obs, _, _, _, info = lsp_env.step(act("run_tests"))
    assert "printed more than" in obs and info["lsp"]["tests_passed"] == 0
    assert len(obs) < 6_000


# ---- server failures --------------------------------------------------------------------------------------


def test_crashed_server_is_restarted_and_the_episode_continues(lsp_env):
    lsp_env.reset(options={"task": "lsp:ledger:d1:0"})
    before = lsp_env._diags
    os.killpg(lsp_env.session.client.pid, signal.SIGKILL)
    obs, _, _, _, info = lsp_env.step(act("hover py://ledger.transfers#transfer"))
    assert obs.startswith("[note] the language server failed") and info["lsp"]["server_restarted"]
    assert "def transfer" in obs
    _, _, _, _, info = lsp_env.step(act("diagnostics"))
    assert info["action_valid"] and lsp_env.session.diagnostics() == before


def test_hung_server_is_restarted(lsp_env):
    lsp_env.reset(options={"task": "lsp:ledger:d1:0"})
    pid = lsp_env.session.client.pid
    children = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True).stdout.split()
    for p in children:
        os.kill(int(p), signal.SIGSTOP)
    obs, _, _, _, info = lsp_env.step(act("hover py://ledger.transfers#transfer"))
    assert obs.startswith("[note] the language server failed") and "did not answer" in obs
    assert lsp_env.session.client.pid != pid
    assert live_processes_in_group(pid) == []  # the old server is gone


# ---- determinism, snapshots, lifetime ---------------------------------------------------------------------


def test_same_task_and_actions_replay_to_the_same_observations_rewards_and_bundles(lsp_env):
    """Observations too: a failing test run's output names no temporary directory and no duration."""
    actions = [act("diagnostics"), act("run_tests"), "ORACLE", act("run_tests"), act("submit")]

    def episode():
        obs, _ = lsp_env.reset(options={"task": "lsp:planner:d2:3"})
        out = [obs]
        for a in actions:
            a = lsp_env.oracle_action() if a == "ORACLE" else a
            obs, r, _, _, info = lsp_env.step(a)
            out.append((obs, r, info["reward_components"], info["lsp"]["bundle_id"]))
        return out

    first = episode()
    assert "2 failed, 4 passed" in first[2][0] and "FAILED test_hidden.py::" in first[2][0]  # a failing run
    assert first == episode()


def test_snapshot_and_restore(lsp_env):
    lsp_env.reset(options={"task": "lsp:gradebook:d1:2"})
    snap = lsp_env.snapshot()
    digest, diags = lsp_env.ws.digest(), lsp_env._diags
    lsp_env.step(lsp_env.oracle_action())
    assert lsp_env.ws.digest() != digest
    lsp_env.restore(snap)
    assert lsp_env.ws.digest() == digest and lsp_env.session.diagnostics() == diags


def test_close_leaves_no_process_or_temp_dir():
    from densegym.envs.lsp import LSPCodeEnv

    before = set(os.listdir(tempfile.gettempdir()))
    env = LSPCodeEnv()
    env.reset(options={"task": "lsp:ledger:d1:0"})
    env.step(act("run_tests"))
    pid, root = env.session.client.pid, env.ws.root
    env.close()
    assert not root.exists()
    assert live_processes_in_group(pid) == []
    leftovers = {n for n in set(os.listdir(tempfile.gettempdir())) - before if n.startswith("densegym-")}
    assert leftovers == set()
    env.close()  # twice is fine


def test_import_without_the_extra_names_it():
    code = "import sys; sys.modules['pygls'] = None\ntry:\n    import densegym.envs.lsp\nexcept ImportError as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "pip install 'densegym[lsp]'" in out
    out = subprocess.run([sys.executable, "-c", "import sys, densegym; print('pygls' in sys.modules)"],
                         capture_output=True, text=True).stdout  # fmt: skip
    assert out.strip() == "False"


def test_push_freshness_waits_for_every_version_and_agrees_with_pull(lsp_env):
    task = generate("lsp:inventory:d3:4")
    lsp_env.reset(options={"task": task})
    session = lsp_env.session
    try:
        for files in (task.gold, task.files):
            for d in task.defects:
                lsp_env.ws.write(d.file, files[d.file])
            session.freshness = "push"
            session.sync()
            client = session.client
            assert all(client._published.get(d.file, 0) >= client.docs[d.file][0] for d in task.defects)
            pushed = session.diagnostics()
            session.freshness = "pull"
            assert pushed == session.diagnostics()
        assert pushed  # the defective version has diagnostics
    finally:
        session.freshness = "pull"


def test_renaming_a_library_symbol_is_refused(lsp_env):
    lsp_env.reset(options={"task": custom_task("ledger", {}, "librename")})
    digest = lsp_env.ws.digest()
    # `Exception` lives in the standard library's stubs: a rename would reach outside the workspace.
    _, _, _, _, info = lsp_env.step(act('rename anchor://ledger/accounts.py#"Exception" MyError'))
    assert not info["action_valid"] and lsp_env.ws.digest() == digest


def test_info_is_json_serialisable_and_privileged_holds_the_gold(lsp_env):
    import json

    _, info = lsp_env.reset(options={"task": "lsp:gradebook:d2:1"})
    assert set(info["privileged"]["gold_files"]) == set(DOMAINS["gradebook"].files)
    _, _, _, _, info = lsp_env.step(act("view py://gradebook.grading#letter"))
    json.dumps(info)
    assert info["lsp"]["bundle_id"] == lsp_env.last_bundle["bundleId"]


def test_server_failing_even_after_a_restart_is_an_invalid_turn(lsp_env, monkeypatch):
    """Error path only: a stub stands in for a server that fails again right after its restart."""
    from densegym.envs.lsp.client import ServerFailure

    lsp_env.reset(options={"task": custom_task("ledger", {}, "double-failure")})
    digest = lsp_env.ws.digest()

    def broken():
        raise ServerFailure("basedpyright exited")

    monkeypatch.setattr(lsp_env.session, "sync", broken)
    obs, _, _, _, info = lsp_env.step(act("edit ledger/transfers.py:1\n# a comment\n"))
    assert not info["action_valid"] and "language server is unavailable" in obs
    assert lsp_env.ws.digest() == digest
    monkeypatch.undo()
    _, _, _, _, info = lsp_env.step(act("edit ledger/transfers.py:1\n# a comment\n"))
    assert info["action_valid"]


def test_server_version_is_pinned_and_recorded(lsp_env):
    import re

    from densegym.envs.lsp.servers import PINNED_BASEDPYRIGHT

    pyproject = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    assert f'"basedpyright=={PINNED_BASEDPYRIGHT}"' in re.search(r"^lsp = .*$", pyproject, re.M).group(0)
    lsp_env.reset(options={"task": "lsp:ledger:d1:0"})
    lsp_env.step(act("diagnostics"))
    environment = lsp_env.last_bundle["environment"]
    assert environment["serverVersion"] == PINNED_BASEDPYRIGHT and environment["checkingMode"] == "standard"
    assert PINNED_BASEDPYRIGHT in environment["versionLine"]


def test_checking_mode_is_configurable():
    from densegym.envs.lsp import LSPCodeEnv

    counts = {}
    for mode in ("basic", "strict"):
        env = LSPCodeEnv(checking_mode=mode)
        try:
            env.reset(options={"task": "lsp:textkit:d1:0"})
            counts[mode] = len(env._diags)
            assert json_config(env)["typeCheckingMode"] == mode
        finally:
            env.close()
    assert counts["strict"] > counts["basic"]
    with pytest.raises(ValueError, match="checking_mode"):
        LSPCodeEnv(checking_mode="lenient")


def json_config(env) -> dict:
    import json

    return json.loads(env.ws.read("pyrightconfig.json"))


_WORDS = ["view", "edit", "hover", "definition", "references", "rename", "diagnostics", "files", "run_tests",
          "ledger/accounts.py", "ledger/transfers.py:2-3", "py://ledger.accounts#Account.withdraw", "@L3:C2",
          "anchor://ledger/accounts.py#\"cents\"", "..", "/", "\\x00", "😀", "中文", "\\n", " ", "#", "py://", "@R(1,1->1,2)",
          "Account", "x", "-1", "999999", "%22"]  # fmt: skip


def test_fuzzed_actions_never_raise_and_invalid_ones_change_nothing(lsp_env):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    lsp_env.reset(options={"task": custom_task("ledger", {}, "fuzz")})

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=8)), min_size=1, max_size=6))
    def run(words):
        if lsp_env._done:
            lsp_env.reset(options={"task": custom_task("ledger", {}, "fuzz")})
        digest = lsp_env.ws.digest()
        obs, reward, terminated, truncated, info = lsp_env.step(act(" ".join(words).replace("\\n", "\n")))
        assert isinstance(obs, str) and isinstance(reward, float)
        if not info["action_valid"]:
            assert lsp_env.ws.digest() == digest and obs.startswith("Invalid action:")

    run()


def test_success_needs_a_clean_checker_too(lsp_env):
    extra = {"ledger/extra.py": "def unused() -> int:\n    return missing_name\n"}
    _, info = lsp_env.reset(options={"task": custom_task("ledger", extra, "untested-defect")})
    assert info["privileged"]["tests_fraction"] == 1.0 and info["privileged"]["diag_count"] == 1.0
    obs, _, terminated, _, info = lsp_env.step(act("submit"))
    assert terminated and not info["success"] and "1 checker error(s) remain" in obs
    lsp_env.reset(options={"task": custom_task("ledger", extra, "untested-defect")})
    _, _, _, _, info = lsp_env.step(act('edit anchor://ledger/extra.py#"missing_name"\n0'))
    assert info["reward_components"]["diagnostics"] == 1.0
    _, _, terminated, _, info = lsp_env.step(act("submit"))
    assert terminated and info["success"]


def test_an_env_never_closed_is_cleaned_up_at_exit():
    code = (
        "from densegym.envs.lsp import LSPCodeEnv\n"
        "env = LSPCodeEnv()\n"
        "env.reset(options={'task': 'lsp:ledger:d1:0'})\n"
        "print(env.session.client.pid, env.ws.root)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    pid, root = out.stdout.split()
    assert live_processes_in_group(int(pid)) == [] and not Path(root).exists()
