"""Run one episode of a gym env with an agent and record it as a :class:`~densegym.trajectory.Trajectory`."""

from __future__ import annotations

from typing import Any, Protocol

from densegym.trajectory import Trajectory, Turn


class EnvAgent(Protocol):
    def act(self, env: Any, observation: str) -> str: ...


def run_episode(
    env: Any,
    agent: EnvAgent,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    env_id: str | None = None,
    group_id: str | None = None,
) -> Trajectory:
    """Reset ``env`` and let ``agent`` act until the episode ends.

    The agent sees only observations (``info["privileged"]`` goes to the trajectory, not the agent).
    """
    observation, info = env.reset(seed=seed, options=options)
    spec = getattr(env, "spec", None)
    traj = Trajectory(
        env_id=env_id or (spec.id if spec else type(env.unwrapped).__name__),
        task_id=str(info.get("task_id", "")),
        seed=seed,
        group_id=group_id,
        privileged=info.get("privileged"),
    )
    while True:
        action = agent.act(env, observation)
        next_obs, reward, terminated, truncated, info = env.step(action)
        step_info = {k: v for k, v in info.items() if k not in ("reward_components", "privileged", "anchor")}
        traj.turns.append(
            Turn(
                observation=observation,
                action=action,
                reward=float(reward),
                components=dict(info["reward_components"]),
                action_valid=bool(info["action_valid"]),
                anchor=str(info["anchor"]),
                info=step_info,
            )
        )
        observation = next_obs
        if terminated or truncated:
            traj.success = bool(info.get("success", False))
            traj.outcome = float(info.get("outcome", 0.0))
            traj.terminated, traj.truncated = bool(terminated), bool(truncated)
            traj.privileged = info.get("privileged", traj.privileged)
            traj.meta["final_observation"] = next_obs
            if info.get("failed"):  # the env could not score the episode (a service it needs was down)
                traj.meta["failed"] = str(info["failed"])
            return traj
