"""LSPCode's reward components: Lanser-CLI's process reward (docs/algorithms.md section 5) plus tests and outcome.

**The functional (Lanser-CLI Eq. 5.1)**, implemented literally in :func:`lanser_reward`::

    r_t = w_D * (D_{t-1} - D_t) + w_S * S_t - w_A * (1 - alpha_t)       defaults (w_D, w_S, w_A) = (0.5, 0.4, 0.1)

* ``D_t``: relevant diagnostics, severity-weighted (error 1, warning 0.5, information 0), over the package.
* ``S_t``: 1 when every safety check of a mutating action passed: applied atomically inside the jail,
  every edited file parses, no new error in any other file, no public symbol removed (a rename through
  the server is not a removal), and for ``rename`` the server's prepareRename (where it has one) accepted the
  position.
* ``alpha_t``: the selector's confidence (Eq. 3.1; 1 for exact and structural selectors).

The env splits Eq. 5.1 into unweighted components whose default weights rebuild it:

| component | value | range | weight |
|---|---|---|---|
| ``diagnostics`` | ``D_{t-1} - D_t`` | unbounded, typically ``[-10, 10]`` | 0.5 |
| ``safety`` | ``S_t`` on edit/rename turns, else 0 | ``[0, 1]`` | 0.4 |
| ``ambiguity`` | ``-(1 - alpha_t)`` on turns with a selector, else 0 | ``[-1, 0]`` | 0.1 |
| ``tests`` | ``phi(after) - phi(before)``, ``phi`` = fraction of hidden tests passing at the last run | ``[-1, 1]`` | 1.0 |
| ``outcome`` | 1 when ``submit`` finds every hidden test passing and no checker error | ``{0, 1}`` | 1.0 |
| ``format`` | 0 for a valid action, -1 otherwise | ``{-1, 0}`` | 0.1 |

**Gating (G-RA, docs/algorithms.md section 3) is a trajectory transform, not part of the env.** Every turn pays
Eq. 5.1 as it happens (dense, turn-level), and ``info["lsp"]`` carries the raw values. Eq. 5.1 alone can be
farmed: deleting the code that carries a diagnostic lowers ``D``, and any change that breaks nothing earns
``S = 1``. The gate needs the outcome, which only the finished episode knows, so it lives in one place,
:func:`densegym.rewards.transforms.gated_accumulation`, applied by the trainer to finished trajectories (the
bundled config ``lsp_gated``)::

    transforms:
      - {name: gated, channels: [outcome, [diagnostics, safety]], thresholds: [1.0]}

which writes ``gated_t = (diagnostics_t + safety_t) * 1[outcome >= 1]`` (the unweighted components) into every
turn: an episode that does not solve the task earns nothing from either, however many diagnostics it silenced
or safe edits it made. Since ``D_{t-1} - D_t`` telescopes, a solved episode's gated diagnostics sum to
``D_0 - D_T``; its safety sums to the number of safe mutating turns (``S_t`` per turn, Eq. 5.1; the env's old
in-step gate paid the safe *fraction* instead). Removing a public symbol also sets ``S_t = 0`` and is listed in
``info["lsp"]["removed_symbols"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from densegym.rewards import RewardHook, Transition

LANSER_WEIGHTS = (0.5, 0.4, 0.1)  # (w_D, w_S, w_A), Lanser-CLI Appendix E
SEVERITY_WEIGHTS = {"error": 1.0, "warning": 0.5, "information": 0.0}


def lanser_reward(
    d_prev: float,
    d_now: float,
    safe: float,
    alpha: float,
    weights: tuple[float, float, float] = LANSER_WEIGHTS,
    safety_fail_penalty: float = 0.0,
) -> float:
    """Eq. 5.1. ``safety_fail_penalty`` (default 0, i.e. Eq. 5.1) is added when ``safe == 0``;
    ``-0.4`` reproduces the paper's Appendix E example 2 (-0.438), which Eq. 5.1 alone gives as -0.038."""
    w_d, w_s, w_a = weights
    r = w_d * (d_prev - d_now) + w_s * safe - w_a * (1.0 - alpha)
    return r + (safety_fail_penalty if safe == 0 else 0.0)


def weighted_count(diagnostics: Sequence[dict], weights: dict[str, float] = SEVERITY_WEIGHTS) -> float:
    return float(sum(weights.get(d["severity"], 0.0) for d in diagnostics))


class LspView(NamedTuple):
    """The state as reward hooks see it."""

    d: float  # severity-weighted relevant diagnostics now
    d0: float  # ... at the start of the episode
    phi: float  # fraction of hidden tests passing at the last run
    edits: int  # mutating turns so far
    safe_edits: int  # ... whose safety checks all passed
    digest: str  # workspace content hash


class DiagnosticsReward(RewardHook):
    range = (-50.0, 50.0)
    description = "D_{t-1} - D_t: drop in severity-weighted diagnostics (language server)"

    def __call__(self, t: Transition) -> float:
        return t.before.d - t.after.d if t.valid else 0.0


class SafetyReward(RewardHook):
    range = (0.0, 1.0)
    description = "S_t: the mutation passed every safety check (jail, parse, no new errors, no removed API)"

    def __call__(self, t: Transition) -> float:
        lsp = t.info.get("lsp") or {}
        return 1.0 if t.valid and lsp.get("safety_ok") else 0.0


class AmbiguityReward(RewardHook):
    range = (-1.0, 0.0)
    description = "-(1 - alpha_t): the selector's resolution confidence (Eq. 3.1)"

    def __call__(self, t: Transition) -> float:
        alpha = (t.info.get("lsp") or {}).get("alpha_conf")
        return float(alpha) - 1.0 if t.valid and alpha is not None else 0.0


class TestsProgress(RewardHook):
    range = (-1.0, 1.0)
    description = "potential-based change in the fraction of hidden tests passing (real pytest run)"

    def __call__(self, t: Transition) -> float:
        return t.after.phi - t.before.phi if t.valid else 0.0
