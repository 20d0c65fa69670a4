"""LSPCode pays Lanser-CLI's Eq. 5.1 on every turn by default; the anti-deletion protection is G-RA, the ``gated``
trajectory transform of the bundled ``lsp_gated`` config, applied to finished episodes (real language server,
real sandboxed test runs)."""

from __future__ import annotations

import pytest

from tests.helpers import require_import

require_import("lsprotocol", "pip install 'densegym[lsp]'")

from densegym.envs.lsp.tasks import DOMAINS, LspTask, generate
from densegym.episode import run_episode
from densegym.groupmath import trajectory_score
from densegym.rewards.transforms import apply_transform
from densegym.trainers.config import TrainerConfig

EXTRA = {"ledger/extra.py": "def unused() -> int:\n    return missing_name\n"}


def act(body: str) -> str:
    return f"<action>{body}</action>"


def custom_task(files: dict[str, str], name: str) -> LspTask:
    d = DOMAINS["ledger"]
    return LspTask(f"custom:{name}", "ledger", 1, {**d.files, **files}, dict(d.files), d.tests, ())


class Script:
    """Plays the given actions in order; a callable gets the env and returns the action."""

    def __init__(self, *actions):
        self.actions = list(actions)

    def act(self, env, observation):
        action = self.actions.pop(0)
        return action(env) if callable(action) else action


def solving_episode(env):
    """An untested checker error, fixed on turn 1 (not the last), then submitted: solved."""
    return run_episode(env, Script(act('edit anchor://ledger/extra.py#"missing_name"\n0'), act("diagnostics"),
                                   act("submit")),
                       options={"task": custom_task(EXTRA, "dense-fix")}, env_id="densegym/LSPCode-v0")  # fmt: skip


def deleting_episode(env):
    """Deletes the function that carries the checker's error (the diagnostic goes away), makes a harmless safe
    edit, and submits without fixing the task."""
    tid = next(t for t in ("lsp:inventory:d1:0", "lsp:ledger:d1:0") if generate(t).defects[0].op == "undefined_name")
    defect = generate(tid).defects[0]
    module = defect.file[:-3].replace("/", ".")
    function = defect.note.rsplit(" in ", 1)[1].rstrip("()")
    harmless = lambda env: act(f"edit {defect.file}\n" + env.ws.read(defect.file) + "\n# reviewed\n")  # noqa: E731
    return run_episode(env, Script(act(f"edit py://{module}#{function}\n"), harmless, act("submit")),
                       options={"task": tid}, env_id="densegym/LSPCode-v0")  # fmt: skip


def lsp_gated(batch):
    """The bundled config's transforms, as the trainer applies them to finished trajectories."""
    for transform in TrainerConfig.from_yaml("lsp_gated").transforms:
        settings = {k: v for k, v in transform.items() if k != "name"}
        apply_transform(batch, transform["name"], **settings)
    return batch


def per_turn(traj, key):
    return [turn.components[key] for turn in traj.turns]


def test_the_default_pays_diagnostics_and_safety_on_the_turn_of_the_edit(lsp_env):
    traj = solving_episode(lsp_env)
    assert traj.success and traj.outcome == 1.0 and len(traj.turns) == 3
    assert per_turn(traj, "diagnostics") == [1.0, 0.0, 0.0]  # on the fixing turn, not the last
    assert per_turn(traj, "safety") == [1.0, 0.0, 0.0]  # S_t on the safe edit's turn; non-mutating turns pay 0
    assert traj.turns[0].info["lsp"]["safety_ok"] is True
    # with the default weights the first turn is Eq. 5.1: 0.5 * 1 + 0.4 * 1 - 0.1 * (1 - alpha)
    alpha = traj.turns[0].info["lsp"]["alpha_conf"]
    assert traj.turns[0].reward == pytest.approx(0.5 + 0.4 - 0.1 * (1 - alpha))


def test_the_gated_transform_takes_back_what_deleting_code_earned(lsp_env):
    deleted = deleting_episode(lsp_env)
    assert deleted.terminated and not deleted.success and deleted.outcome == 0.0
    diagnostics, safety = per_turn(deleted, "diagnostics"), per_turn(deleted, "safety")
    assert diagnostics[0] > 0 and deleted.turns[0].info["lsp"]["diag_delta"] == diagnostics[0]  # the drop pays per turn
    assert deleted.turns[0].info["lsp"]["removed_symbols"] and safety[0] == 0.0  # deletion is flagged unsafe ...
    assert safety[1] == 1.0  # ... a harmless edit is safe
    solved = solving_episode(lsp_env)

    lsp_gated([deleted, solved])
    assert per_turn(deleted, "gated") == [0.0, 0.0, 0.0]  # earns nothing
    assert trajectory_score(deleted, ("outcome", "gated")) == 0.0  # the G-RA return GRPO scores
    expected = [d + s for d, s in zip(per_turn(solved, "diagnostics"), per_turn(solved, "safety"))]
    assert per_turn(solved, "gated") == expected == [2.0, 0.0, 0.0]  # a solving episode keeps its per-turn values
    assert trajectory_score(solved, ("outcome", "gated")) == 3.0
    assert per_turn(deleted, "diagnostics") == diagnostics  # the transform leaves the components as they were


def test_the_bundled_lsp_gated_config_loads_and_validates():
    from densegym.trainers.config import check_transform

    config = TrainerConfig.from_yaml("lsp_gated")
    assert config.env == "densegym/LSPCode-v0" and config.model == "tiny"
    assert config.transforms == [{"name": "gated", "channels": ["outcome", ["diagnostics", "safety"]],
                                  "thresholds": [1.0]}]  # fmt: skip
    gated = check_transform(config.transforms[0])
    assert gated.out == "gated" and gated.gate_op == "ge"
    assert config.estimator == "grpo" and config.estimator_config == {"score": ["outcome", "gated"]}
