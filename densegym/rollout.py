"""Rollouts: an agent plays tasks in an :class:`~densegym.envpool.EnvPool`, in groups, into trajectories.

``collect(agent, pool, tasks, group_size=G)`` plays every task G times (a *group*: the same task, with
different sampling) and returns the groups in task order. Each turn the agent acts on every episode in
flight as one batch, and the pool steps all of them concurrently in its workers. Finished trajectories
are streamed to a JSONL file as they end; a progress bar shows the live success rate and mean reward
per component.

The agent sees only observations: ``info["privileged"]`` goes into ``Trajectory.privileged`` and never
into a prompt. An episode whose env or worker fails ends with ``meta["failed"]`` set (the reason) and
the rest of the batch carries on.

(DESIGN.md puts EnvPool in this module; it lives in ``densegym/envpool.py`` so that the process
plumbing and the episode logic can be read apart, and is re-exported here.)
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from densegym.agents.base import Agent, AgentOutput
from densegym.agents.context import ContextOverflow, ContextPolicy
from densegym.envpool import EnvFailure, EnvPool
from densegym.groupmath import commit_index
from densegym.trajectory import Trajectory, TrajectoryWriter, Turn

__all__ = ["EnvPool", "EnvFailure", "collect", "TaskSpec"]

TaskSpec = Any  # an int seed, a task id / task object (options={"task": ...}), or {"seed":..., "options":...}


@dataclass
class _Episode:
    traj: Trajectory
    task_index: int
    observations: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    pending: dict[str, Any] = field(default_factory=dict)  # what the next turn's info gets (candidates)

    def pop_pending(self) -> dict[str, Any]:
        pending, self.pending = self.pending, {}
        return pending


def _reset_args(spec: TaskSpec, default_seed: int) -> tuple[int | None, dict | None]:
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return int(spec), None
    if isinstance(spec, dict):
        unknown = set(spec) - {"seed", "options"}
        if unknown:
            raise ValueError(f"a task dict takes 'seed' and 'options', got {sorted(unknown)}")
        return spec.get("seed"), spec.get("options")
    return default_seed, {"task": spec}


class _Progress:
    """tqdm when it is installed, a plain stderr line otherwise; silent when disabled."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled
        self.successes, self.sums = 0, {}
        self._bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm

                self._bar = tqdm(total=total, desc="collect", unit="traj", file=sys.stderr, leave=False)
            except ImportError:
                pass

    def update(self, traj: Trajectory) -> None:
        self.done += 1
        self.successes += traj.success
        for k, v in traj.component_sums().items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        if not self.enabled:
            return
        stats = {"success": f"{self.successes / self.done:.0%}"}
        stats.update({k: f"{v / self.done:+.2f}" for k, v in self.sums.items()})
        if self._bar is not None:
            self._bar.set_postfix(stats, refresh=False)
            self._bar.update(1)
        else:
            text = " ".join(f"{k}={v}" for k, v in stats.items())
            print(f"\rcollect {self.done}/{self.total} {text}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            print(file=sys.stderr)


def collect(
    agent: Agent,
    pool: EnvPool,
    tasks: Sequence[TaskSpec],
    *,
    group_size: int = 1,
    max_turns: int | None = None,
    context: ContextPolicy | None = None,
    out: str | Path | TrajectoryWriter | None = None,
    seed: int = 0,
    progress: bool | None = None,
    env_id: str | None = None,
    meta: dict[str, Any] | None = None,
    ordered: bool = False,
    candidates: int = 1,
) -> list[list[Trajectory]]:
    """Play each task ``group_size`` times; return one list of trajectories per task, in task order.

    Args:
        agent: an :class:`~densegym.agents.base.Agent` (acts on a batch of conversations) or a scripted
            agent with ``env_method`` (acts inside the workers, e.g. the oracle).
        pool: the envs to play in; ``pool.num_envs`` episodes run at once.
        tasks: int seeds, task ids or objects (``options={"task": ...}``), or ``{"seed", "options"}`` dicts.
        group_size: G, the trajectories per task.
        max_turns: end (truncate) an episode after this many turns even if the env would go on.
        context: what history the agent sees (default: the full history).
        out: a JSONL path or writer; each trajectory is appended when it ends.
        seed: the base seed: the env seed of id tasks, and of every episode's sampling generator.
        progress: show a progress bar (default: when stderr is a terminal).
        env_id: the id recorded in each trajectory (default: the pool's).
        meta: keys added to every trajectory's ``meta`` before it is written (e.g. ``{"agent": name}``), so
            that the JSONL says what produced it.
        ordered: write ``out`` in task order (group after group) instead of in the order episodes end, so
            that the file reads like the returned groups; a trajectory that ends early waits in memory until
            those before it are written.
        candidates: K > 1 samples K actions per turn for every episode, scores each from the same state
            with ``env.score_action`` (snapshot, step, restore: the env must support snapshots) and commits
            the best (VPR's ``selection_mode: best``, ties broken by the episode's generator). The committed
            turn gets ``info["state_group"]`` and ``info["candidates"]`` (the K-1 others: action, reward,
            components, token ids), which :func:`densegym.trainers.batch.expand_candidates` turns into the
            state groups of the ``turn`` estimator.
    """
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1, got {group_size}")
    context = context or ContextPolicy()
    env_id = env_id or pool.env_id
    writer = TrajectoryWriter(out) if isinstance(out, (str, Path)) else out
    queue = deque((i, g) for i in range(len(tasks)) for g in range(group_size))
    groups: list[list[Trajectory | None]] = [[None] * group_size for _ in tasks]
    bar = _Progress(len(queue), sys.stderr.isatty() if progress is None else progress)
    active: dict[int, _Episode] = {}
    env_method = getattr(agent, "env_method", None)
    unwritten: dict[int, Trajectory] = {}  # ordered: finished but not yet written, by position in task order
    next_position = 0

    def finish(slot: int, episode: _Episode) -> None:
        active.pop(slot, None)
        traj = episode.traj
        groups[episode.task_index][traj.meta["group_index"]] = traj
        if writer is not None and not ordered:
            writer.write(traj)
        elif writer is not None:
            nonlocal next_position
            unwritten[episode.task_index * group_size + traj.meta["group_index"]] = traj
            while next_position in unwritten:
                writer.write(unwritten.pop(next_position))
                next_position += 1
        bar.update(traj)

    try:
        while queue or active:
            # Start episodes in the free slots.
            starting = {}
            for slot in range(pool.num_envs):
                if slot not in active and queue:
                    starting[slot] = queue.popleft()
            requests = {}
            for slot, (i, g) in starting.items():
                env_seed, options = _reset_args(tasks[i], seed)
                rng_seed = [seed, i, g]
                requests[slot] = (env_seed, options, rng_seed)
            for slot, result in pool.reset(requests).items():
                i, g = starting[slot]
                env_seed, _, _ = requests[slot]
                traj = Trajectory(env_id=env_id, task_id="", seed=env_seed, group_id=f"{seed}:{i}")
                traj.meta.update(meta or {})
                traj.meta["group_index"] = g
                episode = _Episode(traj, i)
                active[slot] = episode
                if isinstance(result, EnvFailure):
                    traj.meta["failed"] = result.reason
                    finish(slot, episode)
                    continue
                obs, info = result
                traj.task_id = str(info.get("task_id", ""))
                traj.privileged = info.get("privileged")
                episode.observations.append(obs)
            if not active:
                continue

            # One batched action for every episode in flight.
            slots = list(active)
            outputs = _act(agent, env_method, pool, slots, active, context, finish)
            slots = [s for s in slots if s in outputs]
            if candidates > 1 and slots:
                outputs = _best_of(agent, pool, slots, active, context, outputs, candidates, seed, finish)
                slots = [s for s in slots if s in outputs]
            results = pool.step({s: outputs[s].text for s in slots})
            for slot in slots:
                episode, output, result = active[slot], outputs[slot], results[slot]
                if isinstance(result, EnvFailure):
                    episode.traj.meta["failed"] = result.reason
                    finish(slot, episode)
                    continue
                obs, reward, terminated, truncated, info = result
                _record(episode, output, reward, info)
                episode.observations.append(obs)
                episode.actions.append(output.text)
                if max_turns is not None and len(episode.traj.turns) >= max_turns and not terminated:
                    truncated = True
                if terminated or truncated:
                    traj = episode.traj
                    traj.success = bool(info.get("success", False))
                    traj.outcome = float(info.get("outcome", 0.0))
                    traj.terminated, traj.truncated = bool(terminated), bool(truncated)
                    traj.meta["final_observation"] = obs
                    finish(slot, episode)
    finally:
        bar.close()
        if writer is not None and writer is not out:
            writer.close()
    return [list(g) for g in groups]


def _act(agent, env_method, pool, slots, active, context, finish) -> dict[int, AgentOutput]:
    """Actions for ``slots``: from the workers for a scripted agent, else one batched ``agent.act``."""
    if env_method:
        answers = pool.call(env_method, slots, pass_rng=getattr(agent, "takes_rng", False))
        outputs = {}
        for slot, value in answers.items():
            if isinstance(value, EnvFailure):
                active[slot].traj.meta["failed"] = value.reason
                finish(slot, active[slot])
            else:
                outputs[slot] = AgentOutput(text=value)
        return outputs
    conversations, ready = [], []
    for slot in slots:
        episode = active[slot]
        try:
            conversations.append(context.build(episode.observations, episode.actions))
            ready.append(slot)
        except ContextOverflow as exc:
            episode.traj.truncated = True
            episode.traj.meta["context_overflow"] = str(exc)
            finish(slot, episode)
    if not ready:
        return {}
    outputs = agent.act(conversations)
    if len(outputs) != len(ready):
        raise RuntimeError(f"the agent returned {len(outputs)} outputs for {len(ready)} conversations")
    return dict(zip(ready, outputs))


def _best_of(agent, pool, slots, active, context, first, k, seed, finish) -> dict[int, AgentOutput]:
    """VPR candidates: K-1 more samples per slot, each scored from the current state; the best is committed."""
    if getattr(agent, "env_method", None):
        raise ValueError("candidates > 1 needs a model agent (a scripted agent has one action per state)")
    conversations = [context.build(active[s].observations, active[s].actions) for s in slots]
    extra = agent.act(conversations * (k - 1))
    options = {s: [first[s]] + [extra[j * len(slots) + n] for j in range(k - 1)] for n, s in enumerate(slots)}
    scores: dict[int, list] = {s: [] for s in slots}
    for j in range(k):
        answers = pool.call_each("score_action", {s: (options[s][j].text,) for s in slots if s in scores})
        for s, value in answers.items():
            if isinstance(value, EnvFailure):
                active[s].traj.meta["failed"] = value.reason
                finish(s, active[s])
                scores.pop(s)
            else:
                scores[s].append(value)
    chosen = {}
    for s, scored in scores.items():
        episode = active[s]
        turn = len(episode.traj.turns)
        rng = np.random.default_rng([seed, episode.task_index, episode.traj.meta["group_index"], turn])
        best = commit_index([reward for reward, _ in scored], rng)
        chosen[s] = options[s][best]
        episode.pending = {
            "state_group": f"{episode.traj.meta['group_index']}:{turn}",
            "candidates": [
                {"action": out.text, "reward": float(reward), "components": dict(info.get("reward_components", {})),
                 "action_valid": bool(info.get("action_valid", True)), "prompt_ids": out.prompt_ids,
                 "action_ids": out.action_ids, "action_logprobs": out.action_logprobs}
                for j, (out, (reward, info)) in enumerate(zip(options[s], scored)) if j != best
            ],
        }
    return chosen


def _record(episode: _Episode, output: AgentOutput, reward: float, info: dict[str, Any]) -> None:
    privileged = info.get("privileged")
    if privileged is not None:
        episode.traj.privileged = privileged
    episode.traj.turns.append(
        Turn(
            observation=episode.observations[-1],
            action=output.text,
            reward=float(reward),
            components=dict(info.get("reward_components", {})),
            action_valid=bool(info.get("action_valid", True)),
            anchor=str(info.get("anchor", "")),
            info={k: v for k, v in info.items() if k not in ("privileged", "reward_components", "anchor")}
            | episode.pop_pending(),
            prompt_ids=output.prompt_ids,
            action_ids=output.action_ids,
            action_logprobs=output.action_logprobs,
        )
    )
