"""Reward components of the search family (docs/envs.md, "Search").

* ``retrieval``: potential-based, ``phi`` = the fraction of the task's gold supporting documents that some
  search has shown in its top ``k`` so far. It only grows, so the episode sum is ``phi(end)`` (at most 1), and a
  query that surfaces nothing new earns nothing.
* ``redundancy``: -1 for a search whose terms equal, or nearly equal (Jaccard >= 0.8), an earlier search's, or
  a ``<read>`` of a document already read; else 0.
* ``format``: 0 for an accepted action, -1 otherwise.
* ``outcome``: the answer's token F1 against the best gold alias after Search-R1's normalisation, paid on the
  answer step (``info["em"]`` and ``info["f1"]`` beside it).
"""

from __future__ import annotations

from typing import NamedTuple

from densegym.rewards import RewardHook, RewardSet, Transition, format_reward, outcome_reward, progress_reward


class SearchView(NamedTuple):
    """What the reward hooks see of an episode's state."""

    gold_surfaced: int  # gold documents some search has shown so far
    gold_total: int
    searches: int
    reads: int
    answered: bool


def retrieval_potential(view: SearchView) -> float:
    return view.gold_surfaced / view.gold_total if view.gold_total else 0.0


class RedundancyReward(RewardHook):
    """-1 for a repeated or near-identical search, or a document read twice (``info["repeated"]``); else 0."""

    description = "a repeated or near-identical query, or a document read again"
    range = (-1.0, 0.0)

    def __call__(self, t: Transition) -> float:
        return -1.0 if t.valid and t.info.get("repeated") else 0.0


def default_reward_set() -> RewardSet:
    retrieval = progress_reward(retrieval_potential, range=(0.0, 1.0))
    retrieval.description = "potential-based: the share of gold supporting documents surfaced in the top k so far"
    return RewardSet(
        {
            "retrieval": (retrieval, 0.5),
            "redundancy": (RedundancyReward(), 0.1),
            "format": (format_reward(), 0.1),
            "outcome": (outcome_reward(), 1.0),
        }
    )
