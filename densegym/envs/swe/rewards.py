"""SWE's reward components, each from something that was run or compared, never from what the agent says.

| component | value | range | weight |
|---|---|---|---|
| ``tests`` | ``phi(after) - phi(before)``, ``phi`` = fraction of FAIL_TO_PASS passing at the last hidden run | ``[-1, 1]`` | 1.0 |
| ``regression`` | ``-(psi(after) - psi(before))``, ``psi`` = fraction of PASS_TO_PASS failing at the last run | ``[-1, 1]`` | 0.5 |
| ``localization`` | 1 on the turn of the first edit to the repository when it lands in a file the gold patch touches | ``{0, 1}`` | 0.2 |
| ``format`` | 0 for a valid action, -1 otherwise | ``{-1, 0}`` | 0.1 |
| ``outcome`` | 1 when ``submit`` finds every FAIL_TO_PASS and PASS_TO_PASS test passing | ``{0, 1}`` | 1.0 |
| ``level`` | G-RA's outcome level on the last turn: 0 no submit, 1 empty patch, 2 tests fail, 3 tests pass | ``[0, 3]`` | 0.0 |

``tests`` and ``regression`` are potential-based (docs/algorithms.md section 0): they telescope to the change
over the episode, so undoing and redoing a fix earns nothing. The hidden run happens only after a change to the
repository's files (cached by content hash), from a copy whose tests, conftest and pytest configuration are the
pristine ones: editing the tests never pays. ``level`` has weight 0 in the scalar reward; it exists for the
``gated`` transform (``configs/swe_gated.yaml``): step rewards count only in episodes that submitted a
non-empty patch (``level >= 2``), which is G-RA's SWE rule.
"""

from __future__ import annotations

from typing import NamedTuple

from densegym.rewards import RewardHook, Transition

LEVELS = {"no_submit": 0.0, "empty_patch": 1.0, "tests_fail": 2.0, "tests_pass": 3.0}


class SWEView(NamedTuple):
    """The state as reward hooks see it."""

    phi: float  # fraction of FAIL_TO_PASS passing at the last hidden run
    psi: float  # fraction of PASS_TO_PASS failing at the last hidden run
    edited: bool  # the repository has been changed at least once
    digest: str  # content hash of the repository's files


class TestsProgress(RewardHook):
    range = (-1.0, 1.0)
    description = "potential-based change in the fraction of FAIL_TO_PASS tests passing (real pytest run)"

    def __call__(self, t: Transition) -> float:
        return t.after.phi - t.before.phi


class RegressionPenalty(RewardHook):
    range = (-1.0, 1.0)
    description = "minus the change in the fraction of PASS_TO_PASS tests failing (real pytest run)"

    def __call__(self, t: Transition) -> float:
        return t.before.psi - t.after.psi


class LocalizationReward(RewardHook):
    range = (0.0, 1.0)
    description = "the first edit to the repository lands in a file the gold patch touches"

    def __call__(self, t: Transition) -> float:
        first = (t.info.get("swe") or {}).get("first_edit")
        return 1.0 if first and first.get("in_gold") else 0.0


class LevelReward(RewardHook):
    range = (0.0, 3.0)
    description = "G-RA outcome level at the end: 0 no submit, 1 empty patch, 2 tests fail, 3 tests pass"

    def __call__(self, t: Transition) -> float:
        return float((t.info.get("swe") or {}).get("level", 0.0)) if t.terminated else 0.0
