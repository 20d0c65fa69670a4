"""Rollouts: an agent plays tasks in an :class:`~densegym.envpool.EnvPool`, in groups, into trajectories.

``collect(agent, pool, tasks, group_size=G)`` plays every task G times (a *group*: the same task, with
different sampling) and returns the groups in task order, each with its G trajectories (a group is complete
when all its members are). Finished trajectories are streamed to a JSONL file as they end; a progress bar
shows the live success rate and mean reward per component.

Rollouts are asynchronous per env (docs/architecture.md, "Rollout: EnvPool and collect"): every episode steps on
its own through the pool's ``submit`` / ``poll`` interface. An episode whose reset or step is done waits
for the agent's next batch, and a batch goes to the agent once ``max_batch`` observations are ready
(default: every env in flight), once it has waited ``max_wait_ms`` (default 20 ms) for more, or at once
when no other env is still stepping. A slow env (a test run, a page load) therefore never holds back the
others, and a step that exceeds the pool's ``step_timeout`` fails that episode only. The order within a
batch is by slot. ``asynchronous=False`` is the former lockstep loop (every turn waits for every env); it
also makes the agent's batches independent of timing, which a seeded agent needs to reproduce its samples
exactly (with asynchronous batches, which envs share a batch depends on when their steps finish).

The agent sees only observations: ``info["privileged"]`` goes into ``Trajectory.privileged`` and never
into a prompt. An episode whose env or worker fails ends with ``meta["failed"]`` set (the reason) and
the rest of the batch carries on.

(``EnvPool`` lives in ``densegym/envpool.py``, so that the process plumbing and the episode logic can be
read apart, and is re-exported here.)
"""

from __future__ import annotations

import sys
import time
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
    asynchronous: bool = True,
    max_batch: int | None = None,
    max_wait_ms: float = 20.0,
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
        asynchronous: step every env on its own (default); False: lockstep turns, every env waiting for all.
        max_batch: at most this many observations per ``agent.act`` call (default: ``pool.num_envs``).
        max_wait_ms: how long a ready observation may wait for others to join its batch.
    """
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1, got {group_size}")
    if max_batch is not None and max_batch < 1:
        raise ValueError(f"max_batch must be at least 1, got {max_batch}")
    if max_wait_ms < 0:
        raise ValueError(f"max_wait_ms must be at least 0, got {max_wait_ms}")
    run = _Run(agent, pool, tasks, group_size, max_turns, context or ContextPolicy(), out, seed, progress,
               env_id or pool.env_id, meta, ordered, candidates)
    try:
        if asynchronous:
            run.asynchronous(max_batch or pool.num_envs, max_wait_ms / 1000.0)
        else:
            run.lockstep()
    finally:
        run.close()
    return [list(g) for g in run.groups]


class _Run:
    """One ``collect``: its episodes, its queue of (task, group member) still to start, and how each ends."""

    def __init__(self, agent, pool, tasks, group_size, max_turns, context, out, seed, progress, env_id, meta,
                 ordered, candidates):
        self.agent, self.pool, self.tasks, self.group_size = agent, pool, tasks, group_size
        self.max_turns, self.context, self.seed, self.env_id = max_turns, context, seed, env_id
        self.meta, self.ordered, self.candidates = meta, ordered, candidates
        self.out = out
        self.writer = TrajectoryWriter(out) if isinstance(out, (str, Path)) else out
        self.queue = deque((i, g) for i in range(len(tasks)) for g in range(group_size))
        self.groups: list[list[Trajectory | None]] = [[None] * group_size for _ in tasks]
        self.bar = _Progress(len(self.queue), sys.stderr.isatty() if progress is None else progress)
        self.active: dict[int, _Episode] = {}
        self.env_method = getattr(agent, "env_method", None)
        self.unwritten: dict[int, Trajectory] = {}  # ordered: finished, not yet written, by position in task order
        self.next_position = 0

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None and self.writer is not self.out:
            self.writer.close()

    def finish(self, slot: int, episode: _Episode) -> None:
        self.active.pop(slot, None)
        traj = episode.traj
        self.groups[episode.task_index][traj.meta["group_index"]] = traj
        if self.writer is not None and not self.ordered:
            self.writer.write(traj)
        elif self.writer is not None:
            self.unwritten[episode.task_index * self.group_size + traj.meta["group_index"]] = traj
            while self.next_position in self.unwritten:
                self.writer.write(self.unwritten.pop(self.next_position))
                self.next_position += 1
        self.bar.update(traj)

    def reset_requests(self) -> dict[int, tuple]:
        """Take the next (task, member) for every free slot: ``{slot: (seed, options, rng_seed)}``."""
        requests = {}
        for slot in range(self.pool.num_envs):
            if slot not in self.active and self.queue:
                i, g = self.queue.popleft()
                env_seed, options = _reset_args(self.tasks[i], self.seed)
                traj = Trajectory(env_id=self.env_id, task_id="", seed=env_seed, group_id=f"{self.seed}:{i}")
                traj.meta.update(self.meta or {})
                traj.meta["group_index"] = g
                self.active[slot] = _Episode(traj, i)
                requests[slot] = (env_seed, options, [self.seed, i, g])
        return requests

    def started(self, slot: int, result: Any) -> bool:
        """A reset's result: True when the episode goes on to its first action."""
        episode = self.active[slot]
        if isinstance(result, EnvFailure):
            episode.traj.meta["failed"] = result.reason
            self.finish(slot, episode)
            return False
        obs, info = result
        episode.traj.task_id = str(info.get("task_id", ""))
        episode.traj.privileged = info.get("privileged")
        episode.observations.append(obs)
        return True

    def stepped(self, slot: int, output: AgentOutput, result: Any) -> bool:
        """A step's result: True when the episode goes on."""
        episode = self.active[slot]
        if isinstance(result, EnvFailure):
            episode.traj.meta["failed"] = result.reason
            self.finish(slot, episode)
            return False
        obs, reward, terminated, truncated, info = result
        _record(episode, output, reward, info)
        episode.observations.append(obs)
        episode.actions.append(output.text)
        if self.max_turns is not None and len(episode.traj.turns) >= self.max_turns and not terminated:
            truncated = True
        if terminated or truncated:
            traj = episode.traj
            traj.success = bool(info.get("success", False))
            traj.outcome = float(info.get("outcome", 0.0))
            traj.terminated, traj.truncated = bool(terminated), bool(truncated)
            traj.meta["final_observation"] = obs
            if info.get("failed"):  # the env could not score the episode (a service it needs was down)
                traj.meta["failed"] = str(info["failed"])
            self.finish(slot, episode)
            return False
        return True

    def actions(self, slots: list[int]) -> dict[int, AgentOutput]:
        """The agent's actions for ``slots`` (one batch), VPR's best of K when ``candidates`` > 1."""
        outputs = _act(self.agent, self.env_method, self.pool, slots, self.active, self.context, self.finish)
        slots = [s for s in slots if s in outputs]
        if self.candidates > 1 and slots:
            outputs = _best_of(self.agent, self.pool, slots, self.active, self.context, outputs, self.candidates,
                               self.seed, self.finish)
        return outputs

    def lockstep(self) -> None:
        """Every turn: start episodes in the free slots, one batch for every episode in flight, step them all,
        wait for every one (what ``collect`` did before it was asynchronous; ``asynchronous=False``)."""
        pool = self.pool
        while self.queue or self.active:
            requests = self.reset_requests()
            for slot, result in pool.reset(requests).items():
                self.started(slot, result)
            if not self.active:
                continue
            outputs = self.actions(list(self.active))
            results = pool.step({s: out.text for s, out in outputs.items()})
            for slot, output in outputs.items():
                self.stepped(slot, output, results[slot])

    def asynchronous(self, max_batch: int, max_wait_s: float) -> None:
        """Each env on its own: an episode whose reset or step is done joins the ``ready`` list; the agent acts
        on up to ``max_batch`` ready episodes once that many are ready, once ``max_wait_s`` has passed since it
        started waiting for more, or at once when nothing else is in flight; their steps are sent and the loop
        goes on taking whatever finishes."""
        pool = self.pool
        ready: list[int] = []  # slots whose latest observation waits for the agent
        stepping: dict[int, AgentOutput] = {}  # slot -> the action its step in flight carries

        def take(results: list[tuple[int, Any]]) -> None:
            for slot, result in results:
                goes_on = (self.stepped(slot, stepping.pop(slot), result) if slot in stepping
                           else self.started(slot, result))
                if goes_on:
                    ready.append(slot)

        while self.queue or self.active:
            requests = self.reset_requests()
            if requests:
                pool.submit_many("reset", requests)
            if not ready:
                results = pool.poll(None)
                if not results and not pool.in_flight and not pool.waiting and self.active:
                    raise RuntimeError("collect: episodes in flight but nothing pending in the pool")
                take(results)
            if ready and len(ready) < max_batch and pool.in_flight:
                end = time.monotonic() + max_wait_s
                while len(ready) < max_batch and pool.in_flight and (left := end - time.monotonic()) > 0:
                    take(pool.poll(left))
            if not ready:
                continue
            batch = sorted(ready[:max_batch])  # a stable order for the agent: by slot
            del ready[:max_batch]
            outputs = self.actions(batch)
            if outputs:
                stepping.update(outputs)
                pool.submit_many("step", {s: out.text for s, out in outputs.items()})


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
