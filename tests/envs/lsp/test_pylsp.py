"""python-lsp-server (pylsp: jedi + pyflakes) as the env's alternative language server, end to end.

pylsp pushes diagnostics only (no pull), has no prepareRename, and reports almost nothing semantic: of the
mutation operators only the undefined name and the bad import show (pyflakes); the others are left to the
hidden tests.
"""

from __future__ import annotations

import importlib.metadata
import os
import signal

import pytest

from tests.helpers import require, require_import

require_import("lsprotocol", "pip install 'densegym[lsp]'")

from densegym.envs.lsp.servers import server_available  # noqa: E402

TASK = "lsp:ledger:d1:0"  # 'total' misspelt as 'toal' in ledger/transfers.py (an undefined name)


def act(body: str) -> str:
    return f"<action>{body}</action>"


@pytest.fixture(scope="module")
def pylsp_env():
    require(server_available("pylsp"), "python-lsp-server (pylsp)", "pip install 'densegym[lsp]'")
    from densegym.envs.lsp import LSPCodeEnv

    env = LSPCodeEnv(server="pylsp", test_timeout_s=8, server_timeout_s=20)
    yield env
    env.close()


def test_episode_with_diagnostics_navigation_rename_and_a_solve(pylsp_env):
    env = pylsp_env
    obs, info = env.reset(options={"task": TASK})
    assert "ledger/transfers.py:15:12 error [] undefined name 'toal'" in obs
    assert [d["message"] for d in env._diags] == ["undefined name 'toal'"]  # pyflakes only: no style warnings

    obs, *_ = env.step(act("hover py://ledger.transfers#transfer"))
    assert obs.startswith("transfer(source: Account, target: Account, cents: int) -> None")
    transfers = env.ws.read("ledger/transfers.py").split("\n")
    row = next(i for i, line in enumerate(transfers) if "source.withdraw(cents)" in line)
    col = transfers[row].index("withdraw") + 1
    obs, *_ = env.step(act(f"definition ledger/transfers.py@L{row + 1}:C{col}"))
    accounts = env.ws.read("ledger/accounts.py").split("\n")
    def_row = next(i for i, line in enumerate(accounts) if "def withdraw" in line)
    assert f"ledger/accounts.py:{def_row + 1}:9  def withdraw" in obs, obs
    obs, *_ = env.step(act("references py://ledger.accounts#Account"))
    assert "ledger/interest.py" in obs and "ledger/transfers.py" in obs

    # No prepareRename: the rename answer alone decides; every call site follows, and it is no removal.
    obs, _, _, _, info = env.step(act("rename py://ledger.accounts#Account.withdraw take_out"))
    assert info["action_valid"] and info["lsp"]["safety_ok"] and info["lsp"]["removed_symbols"] == []
    assert "def take_out(self" in env.ws.read("ledger/accounts.py")
    assert "source.take_out(cents)" in env.ws.read("ledger/transfers.py")
    assert "withdraw" not in env.ws.read("ledger/transfers.py")
    obs, _, _, _, info = env.step(act("rename ledger/accounts.py@L1:C1 foo"))
    assert not info["action_valid"] and "found nothing to rename" in obs
    obs, _, _, _, info = env.step(act("rename py://ledger.accounts#Account.take_out withdraw"))  # the tests call it
    assert info["action_valid"] and "source.withdraw(cents)" in env.ws.read("ledger/transfers.py")

    environment = env.last_bundle["environment"]
    assert environment["server"] == "pylsp"
    assert environment["serverVersion"] == importlib.metadata.version("python-lsp-server")

    # The fix clears the diagnostic (a push for the new document version); then the task is solved.
    fixed = env.ws.read("ledger/transfers.py").replace("toal", "total")
    obs, reward, _, _, info = env.step(act("edit ledger/transfers.py\n" + fixed))
    assert info["action_valid"] and "Diagnostics: none." in obs and info["lsp"]["diag_delta"] > 0
    assert info["reward_components"]["diagnostics"] == info["lsp"]["diag_delta"]  # paid on the turn (Eq. 5.1)
    obs, reward, terminated, _, info = env.step(act("submit"))
    assert terminated and info["success"] and obs.startswith("Submitted. Solved.")


def test_crashed_pylsp_is_restarted_with_every_document_analysed(pylsp_env):
    env = pylsp_env
    env.reset(options={"task": TASK})
    before = env._diags
    os.killpg(env.session.client.pid, signal.SIGKILL)
    # An edit elsewhere: the restarted server must have analysed transfers.py before the diagnostics are read.
    obs, _, _, _, info = env.step(act("edit ledger/accounts.py:1\n# a comment\n"))
    assert obs.startswith("[note] the language server failed") and info["lsp"]["server_restarted"]
    assert env._diags == before and "undefined name 'toal'" in obs


@pytest.mark.parametrize(
    "task, messages",
    [
        ("lsp:inventory:d1:4", ["'inventory.items.total_eight' imported but unused", "undefined name 'total_weight'"]),
        ("lsp:ledger:d1:1", []),  # a wrong argument count: pyflakes cannot see it, basedpyright does
        ("lsp:inventory:d1:5", []),  # a symbol renamed but not at its call sites: likewise
    ],
)
def test_what_pyflakes_sees_of_the_mutation_operators(pylsp_env, task, messages):
    pylsp_env.reset(options={"task": task})
    assert [d["message"] for d in pylsp_env._diags] == messages
    assert pylsp_env.task.defects[0].rule is not None  # basedpyright reports every one of them
