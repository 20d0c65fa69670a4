"""LSPCode's rewards under attack (reward integrity): a forged verdict, suppression comments, missing isolation."""

from __future__ import annotations

import warnings

import pytest

from tests.helpers import require_import

require_import("lsprotocol", "pip install 'densegym[lsp]'")

from densegym.envs.lsp.tasks import generate
from tests.envs.lsp.test_env import act, custom_task

EXTRA = '"""A helper the hidden tests never import."""\n\n\ndef helper() -> int:\n    return undefined_thing\n'


@pytest.mark.parametrize(
    "suppressed",
    [
        EXTRA.replace("undefined_thing\n", "undefined_thing  # type: ignore\n"),
        EXTRA.replace("undefined_thing\n", "undefined_thing  # pyright: ignore\n"),
        EXTRA.replace("undefined_thing\n", "undefined_thing  # pyright: ignore[reportUndefinedVariable]\n"),
        "# type: ignore\n" + EXTRA,
        "# pyright: reportUndefinedVariable=false\n" + EXTRA,
        "# pyright: basic, reportUndefinedVariable=none\n" + EXTRA,
    ],
    ids=["type-ignore", "pyright-ignore", "pyright-ignore-rule", "file-type-ignore", "file-rule-off", "file-mode"],
)
def test_suppression_comments_are_no_fix(lsp_env, suppressed):
    """The hidden tests pass and the only defect is a checker error: silencing it must not solve the task
    nor drop the diagnostic count."""
    lsp_env.reset(options={"task": custom_task("inventory", {"inventory/extra.py": EXTRA}, "suppress")})
    d0 = lsp_env._view.d
    assert d0 >= 1 and lsp_env._view.phi == 1.0
    _, _, _, _, info = lsp_env.step(act(f"edit inventory/extra.py\n{suppressed}"))
    assert info["action_valid"] and info["lsp"]["diag_count"] == d0 and info["lsp"]["diag_delta"] == 0
    assert info["reward_components"]["diagnostics"] == 0.0
    obs, _, terminated, _, info = lsp_env.step(act("submit"))
    assert terminated and not info["success"] and "checker error(s) remain" in obs
    # The real fix is still rewarded.
    lsp_env.reset(options={"task": custom_task("inventory", {"inventory/extra.py": EXTRA}, "suppress")})
    _, _, _, _, info = lsp_env.step(act("edit inventory/extra.py\n" + EXTRA.replace("undefined_thing", "0")))
    assert info["reward_components"]["diagnostics"] == d0
    _, _, _, _, info = lsp_env.step(act("submit"))
    assert info["success"]


def test_suppression_text_keeps_every_position():
    from densegym.envs.lsp.suppressions import checker_text

    src = "x = 1  # type: ignore[misc]\ns = '# type: ignore'  # pyright: ignore\n# pyright: strict\n"
    out = checker_text(src)
    assert len(out) == len(src) and out.count("\n") == src.count("\n")
    assert "type: ignore[" not in out and "pyright: " not in out and "s = '# type: ignore'" in out


@pytest.mark.parametrize(
    "code",
    ["import weakref\n", "from weakref import finalize\n", "import sys\nf = sys._getframe(1).f_globals\n",
     "class A:\n    def __del__(self):\n        pass\n", "x = (1).__class__.__subclasses__()\n"],
)  # fmt: skip
def test_the_guard_refuses_the_reviewed_tampering_routes(lsp_env, code):
    lsp_env.reset(options={"task": "lsp:ledger:d1:6"})
    before = lsp_env.ws.read("ledger/__init__.py")
    obs, _, _, _, info = lsp_env.step(act(f"edit ledger/__init__.py\n{before}{code}"))
    assert not info["action_valid"] and "E/FORBIDDEN" in obs
    assert lsp_env.ws.read("ledger/__init__.py") == before


def test_a_forged_verdict_scores_nothing_in_the_env(lsp_env):
    """Past the guard (written straight into the workspace): a patch of pytest's reports that makes every
    test pass. The run is flagged, the tests component pays nothing, and submit does not solve."""
    task = generate("lsp:ledger:d1:6")
    lsp_env.reset(options={"task": task.id})
    phi0 = lsp_env._view.phi
    assert 0 < phi0 < 1
    attack = (
        "\nimport sys as _s\n_r = _s.modules['_pytest.reports']\n_f = _r.TestReport.from_item_and_call.__func__\n"
        "def _p(cls, item, call):\n    rep = _f(cls, item, call)\n    rep.outcome = 'passed'\n    rep.longrepr = None\n"
        "    return rep\n_r.TestReport.from_item_and_call = classmethod(_p)\n"
    )
    lsp_env.ws.write("ledger/accounts.py", lsp_env.ws.read("ledger/accounts.py") + attack)
    obs, _, _, _, info = lsp_env.step(act("run_tests"))
    assert info["tampered"] is True and info["lsp"]["tests_passed"] == 0 and "tampered" in obs
    assert info["reward_components"]["tests"] == pytest.approx(-phi0)
    obs, _, terminated, _, info = lsp_env.step(act("submit"))
    assert terminated and info["tampered"] and not info["success"] and info["outcome"] == 0.0


def test_an_honest_run_is_not_flagged(lsp_env):
    lsp_env.reset(options={"task": "lsp:ledger:d1:6"})
    _, _, _, _, info = lsp_env.step(act("run_tests"))
    assert info["tampered"] is False and info["lsp"]["isolated"] is True


def test_without_bubblewrap_the_env_refuses_unless_unsafe_local(monkeypatch):
    """No isolating executor (simulated: bubblewrap reported missing; the error path only): gym.make fails
    and says how to install one; unsafe_local=True runs, warns, and says so in info."""
    import gymnasium as gym

    import densegym.sandbox.executor as executor_module
    from densegym.sandbox import IsolationUnavailable, UnsafeLocalWarning

    monkeypatch.setattr(executor_module, "bubblewrap_path", lambda: None)
    with pytest.raises(IsolationUnavailable, match="apt-get install bubblewrap"):
        gym.make("densegym/LSPCode-v0")
    with pytest.warns(UnsafeLocalWarning):
        env = gym.make("densegym/LSPCode-v0", unsafe_local=True, test_timeout_s=20)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env.reset(options={"task": "lsp:ledger:d1:6"})
            _, _, _, _, info = env.step(act("run_tests"))
        assert info["lsp"]["isolated"] is False and 0 < info["lsp"]["tests_passed"]
    finally:
        env.close()
