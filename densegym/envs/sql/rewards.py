"""The SQL env's reward components, each verified by the database or by sqlglot.

| component | value per turn | range | verified by |
|---|---|---|---|
| ``execution`` | 0 when the turn's query ran, -1 when the database rejected it or it hit the step's time budget; 0 on a turn without a query | ``{-1, 0}`` | the database |
| ``schema`` | -1 when the query names a table or column the database does not have, else 0 | ``{-1, 0}`` | sqlglot's qualifier against the live catalog |
| ``progress`` | ``phi(after) - phi(before)``, ``phi`` = partial match of the latest result against the gold result (``match.partial_match``; 1 only for an execution match); a comparison the step's time budget cut short leaves ``phi`` unchanged (0 for an answer) | ``[-1, 1]`` | the database + ``match.py`` |
| ``cte_steps`` | on the submitting turn, when the answer is correct: the number of its CTEs that the final query depends on (transitively), that read at least one database table (directly or through the CTEs they read) and whose chain prefix executes and returns a row within the step's budget, divided by the number of all its CTEs (Reward-SQL's chain of CTEs, ``analysis.cte_steps``); else 0 | ``[0, 1]`` | the database + sqlglot |
| ``redundancy`` | -1 when a ``<sql>`` query already ran this episode, compared as sqlglot regenerates it (comments dropped, whitespace, keyword and identifier case normalised; the collapsed text when it does not parse); the ``<answer>`` is never a repeat (running a query and then submitting it is the habit to keep), else 0 | ``{-1, 0}`` | sqlglot's canonical form |
| ``format`` | 0 for a well-formed, accepted action, -1 otherwise (no block, refused statement) | ``{-1, 0}`` | the parser and the guard |
| ``outcome`` | 1 on the submitting turn when the answer's result matches the gold result, else 0 | ``{0, 1}`` | the database + ``match.results_match`` |

``execution``, ``schema`` and ``redundancy`` are penalties only: an agent cannot collect reward by running
queries, and ``progress`` telescopes to ``phi(answer)`` over an episode, so going back and forth earns
nothing. ``cte_steps`` pays nothing for a wrong answer, and CTEs the answer does not read or that hold only
constants dilute it instead of adding to it.
"""

from __future__ import annotations

from typing import NamedTuple

from densegym.rewards import FormatReward, OutcomeReward, PotentialProgress, RewardHook, RewardSet, Transition


class SQLView(NamedTuple):
    """The state as reward hooks see it: the distinct queries run so far and the current potential."""

    seen: frozenset[str]
    phi: float
    answered: bool


class _InfoPenalty(RewardHook):
    """-1 when ``info[key]`` has the flagged value on a valid turn, else 0."""

    range = (-1.0, 0.0)
    key: str = ""
    flagged: object = True

    def __call__(self, t: Transition) -> float:
        if not t.valid or self.key not in t.info:
            return 0.0
        return -1.0 if t.info[self.key] == self.flagged else 0.0


class ExecutionReward(_InfoPenalty):
    description = "the query ran without a database error or timeout (the database)"
    key, flagged = "executed", False


class SchemaReward(_InfoPenalty):
    description = "the query names only existing tables and columns (sqlglot against the live catalog)"
    key, flagged = "schema_ok", False


class RedundancyReward(_InfoPenalty):
    description = "the same exploration query (sqlglot canonical form, comments dropped) did not already run"
    key, flagged = "repeated", True


class CTEStepsReward(RewardHook):
    range = (0.0, 1.0)
    description = ("share of a correct answer's CTEs that the final query depends on, read the database and "
                   "return rows (Reward-SQL chain of CTEs)")

    def __call__(self, t: Transition) -> float:
        return float(t.info.get("cte_steps", 0.0)) if t.valid else 0.0


def default_reward_set() -> RewardSet:
    return RewardSet(
        {
            "execution": (ExecutionReward(), 0.1),
            "schema": (SchemaReward(), 0.1),
            "progress": (PotentialProgress(lambda view: view.phi, gamma=1.0), 0.5),
            "cte_steps": (CTEStepsReward(), 0.1),
            "redundancy": (RedundancyReward(), 0.1),
            "format": (FormatReward(0.0, -1.0), 0.1),
            "outcome": (OutcomeReward((0.0, 1.0)), 1.0),
        }
    )
