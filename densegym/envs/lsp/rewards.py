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
| ``safety`` | ``S_t`` on edit/rename turns, else 0 (gated: the safe fraction, on the last turn) | ``[0, 1]`` | 0.4 |
| ``ambiguity`` | ``-(1 - alpha_t)`` on turns with a selector, else 0 | ``[-1, 0]`` | 0.1 |
| ``tests`` | ``phi(after) - phi(before)``, ``phi`` = fraction of hidden tests passing at the last run | ``[-1, 1]`` | 1.0 |
| ``outcome`` | 1 when ``submit`` finds every hidden test passing and no checker error | ``{0, 1}`` | 1.0 |
| ``format`` | 0 for a valid action, -1 otherwise | ``{-1, 0}`` | 0.1 |

**Gating (G-RA, docs/algorithms.md section 3).** Deleting the code that carries a diagnostic lowers ``D``, and
a no-op edit earns ``S = 1``; both would pay under Eq. 5.1 alone. With ``gate="outcome"`` (the default)
``diagnostics`` and ``safety`` are held back during the episode (0 on each turn) and paid on its last
turn only when the outcome meets the threshold (solved), as G-RA's
``r_high + sum_t r_low_t * 1[r_high >= Delta]``. Because ``D_{t-1} - D_t`` telescopes, the held back
diagnostics sum is ``D_0 - D_T``; the held back safety is paid as the *fraction* of mutating turns that
were safe (in ``[0, 1]``), so that the number of edits earns nothing. ``gate="none"`` pays Eq. 5.1 on every turn (for trainers that
apply :func:`gra_gate` to finished trajectories themselves; ``info["lsp"]`` carries the raw per-turn
values). Removing a public symbol also sets ``S_t = 0`` and is listed in ``info["lsp"]["removed_symbols"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from densegym.rewards import RewardHook, Transition

LANSER_WEIGHTS = (0.5, 0.4, 0.1)  # (w_D, w_S, w_A), Lanser-CLI Appendix E
SEVERITY_WEIGHTS = {"error": 1.0, "warning": 0.5, "information": 0.0}
GATED = ("diagnostics", "safety")


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


def gra_gate(
    turn_components: Sequence[dict[str, float]],
    outcome: float,
    threshold: float = 1.0,
    gated: Sequence[str] = GATED,
    op: str = "ge",
) -> list[dict[str, float]]:
    """G-RA on a finished trajectory: zero the ``gated`` components of every turn unless the outcome passes."""
    passed = outcome >= threshold if op == "ge" else outcome > threshold
    return [{k: (v if passed or k not in gated else 0.0) for k, v in comps.items()} for comps in turn_components]


class LspView(NamedTuple):
    """The state as reward hooks see it."""

    d: float  # severity-weighted relevant diagnostics now
    d0: float  # ... at the start of the episode
    phi: float  # fraction of hidden tests passing at the last run
    edits: int  # mutating turns so far
    safe_edits: int  # ... whose safety checks all passed
    digest: str  # workspace content hash


def _ends(t: Transition) -> bool:
    return "outcome" in t.info


def _passes(t: Transition, threshold: float) -> bool:
    return float(t.info.get("outcome", 0.0)) >= threshold


class DiagnosticsReward(RewardHook):
    range = (-50.0, 50.0)
    description = "drop in severity-weighted diagnostics (language server), gated on the outcome by default"

    def __init__(self, gate: str = "outcome", threshold: float = 1.0):
        self.gate, self.threshold = gate, float(threshold)

    def __call__(self, t: Transition) -> float:
        if self.gate == "none":
            return t.before.d - t.after.d if t.valid else 0.0
        if not _ends(t) or not _passes(t, self.threshold):
            return 0.0
        return t.after.d0 - t.after.d


class SafetyReward(RewardHook):
    range = (0.0, 1.0)
    description = "S_t: the mutation passed every safety check (jail, parse, no new errors, no removed API)"

    def __init__(self, gate: str = "outcome", threshold: float = 1.0):
        self.gate, self.threshold = gate, float(threshold)

    def __call__(self, t: Transition) -> float:
        if self.gate == "none":
            lsp = t.info.get("lsp") or {}
            return 1.0 if t.valid and lsp.get("safety_ok") else 0.0
        if not _ends(t) or not _passes(t, self.threshold):
            return 0.0
        # The fraction, not the count: under G-RA a count would still pay for many no-op edits.
        return t.after.safe_edits / t.after.edits if t.after.edits else 0.0


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
