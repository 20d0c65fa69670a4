"""Evaluation metrics over finished trajectories: what ``densegym rollout`` and ``densegym eval`` report.

One function, :func:`rollout_summary`, so that the rollout table, the eval table and the eval JSON can never
disagree about what "success" or "tokens" means. Every number is a mean per episode (trajectory):

* ``success``: the share of episodes the env marked successful (a failed episode, one whose env or worker
  died, counts as unsuccessful: dropping it would flatter an agent that crashes its envs);
* ``turns``: turns played;
* ``reward``: the weighted reward summed over the episode;
* ``components``: each reward component, unweighted, summed over the episode (as in ``info
  ["reward_components"]``), so that components can be compared across weightings;
* ``tokens``: action tokens generated, over the episodes whose agent reported tokens (``action_ids``, or
  ``action_logprobs`` from a server that returns log-probs but no ids); ``None`` when no episode has them
  (scripted agents);
* ``failed``: how many episodes ended with ``meta["failed"]`` (an env or worker failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from densegym.trajectory import Trajectory, Turn


def _turn_tokens(turn: Turn) -> int | None:
    if turn.action_ids is not None:
        return len(turn.action_ids)
    if turn.action_logprobs is not None:
        return len(turn.action_logprobs)
    return None


def episode_tokens(trajectory: Trajectory) -> int | None:
    """Action tokens generated in one episode, or ``None`` when no turn reports them."""
    counts = [c for c in map(_turn_tokens, trajectory.turns) if c is not None]
    return sum(counts) if counts else None


def rollout_summary(trajectories: Sequence[Trajectory], label: str = "") -> dict[str, Any]:
    """Means per episode over ``trajectories`` (see the module docstring); ``label`` names the agent."""
    n = len(trajectories)
    if n == 0:
        raise ValueError("no trajectories to summarise")
    components: dict[str, float] = {}
    for t in trajectories:
        for k, v in t.component_sums().items():
            components[k] = components.get(k, 0.0) + v / n
    tokens = [c for c in map(episode_tokens, trajectories) if c is not None]
    return {
        "agent": label,
        "episodes": n,
        "success": sum(t.success for t in trajectories) / n,
        "turns": sum(len(t.turns) for t in trajectories) / n,
        "reward": sum(t.total_reward for t in trajectories) / n,
        "components": components,
        "tokens": sum(tokens) / len(tokens) if tokens else None,
        "failed": sum("failed" in t.meta for t in trajectories),
    }


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with a rule under the headers; floats to 3 decimals (1 from 10 up)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)
