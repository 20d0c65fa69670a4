"""Small trajectory builders for the estimator tests."""

from __future__ import annotations

from densegym.trajectory import Trajectory, Turn


def traj(
    group: str | None,
    rewards=(),
    *,
    outcome: float = 0.0,
    success: bool | None = None,
    anchors=None,
    components=None,
    terminated: bool = True,
    infos=None,
    token_counts=None,
) -> Trajectory:
    """A trajectory with one turn per reward; ``components[t]`` and ``infos[t]`` fill the turns."""
    turns = []
    for t, r in enumerate(rewards):
        turns.append(
            Turn(
                observation=f"obs {t}",
                action=f"act {t}",
                reward=float(r),
                components=dict(components[t]) if components else {},
                anchor=anchors[t] if anchors else "",
                info=dict(infos[t]) if infos else {},
                action_ids=list(range(token_counts[t])) if token_counts else None,
            )
        )
    return Trajectory(
        env_id="test",
        task_id=str(group),
        group_id=group,
        turns=turns,
        success=bool(outcome > 0) if success is None else success,
        outcome=float(outcome),
        terminated=terminated,
    )
