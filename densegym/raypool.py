"""``RayEnvPool``: the :class:`~densegym.envpool.EnvPool` interface with Ray actors as workers.

For env workers on more than one machine (docs/architecture.md, "Rollout: EnvPool and collect"): each worker is a Ray actor
that owns several envs, so ``collect(agent, RayEnvPool(...), tasks)`` runs unchanged whether the envs live
in local processes or across a cluster. Slots, answers and failures mean exactly what they mean in
``EnvPool`` (both build on :class:`~densegym.envpool.SlotPool`, and the actors answer with the same
:class:`~densegym.envpool.Slots` code as the process workers):

* an env that raises answers its slot with an :class:`~densegym.envpool.EnvFailure`; its actor carries on;
* every slot's command is its own actor task (the actors are threaded: ``max_concurrency`` is one more than
  their slots), so the asynchronous interface (``submit`` / ``poll``) and ``collect`` step envs
  independently here too: a slow env does not hold back the others of its actor;
* a command that does not finish within ``step_timeout`` seconds fails its slot only; the actor is killed and
  replaced as in ``EnvPool`` (at once when none of its other slots has an episode in progress, else once their
  episodes end), and an actor that dies is replaced, failing its slots' commands in flight and open episodes;
* a value that cannot be pickled in the actor or unpickled in the caller fails its own slot only (each slot's
  value travels as its own standard pickle, as from a process worker). Every call has its own object refs, so
  an abandoned call's answers can never be taken for a later call's (what ``EnvPool``'s call ids ensure).

Ray is used as it is found: connect with ``ray.init(...)`` first to pick a cluster; otherwise the first
actor starts a local Ray instance with Ray's defaults (Ray's own behaviour). ``pip install 'densegym[ray]'``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from densegym.envpool import EnvFactory, Slots, SlotPool, build_error, encode_answers

try:
    import ray
    from ray.exceptions import GetTimeoutError, RayActorError
except ImportError as exc:  # the optional extra is missing
    raise ImportError("RayEnvPool needs Ray: pip install 'densegym[ray]'") from exc


class _EnvActor:
    """One Ray actor: a :class:`~densegym.envpool.Slots` of envs. A failed build is reported by ``ready``
    (as text, like a process worker) rather than killing the actor, so the pool can say what went wrong."""

    def __init__(self, factory: Any, n_envs: int):
        self.error = None
        try:
            self.slots = Slots(factory, n_envs)
        except BaseException as exc:  # noqa: BLE001 - reported by ready()
            self.error = build_error(exc)

    def ready(self) -> tuple[str, Any]:
        return ("error", self.error) if self.error else ("ready", os.getpid())

    def answer(self, cmd: str, items: list[tuple[int, Any]]) -> list[tuple[str, Any]]:
        # every slot's value pickled on its own, as a process worker sends it: a value that does not unpickle
        # in the caller fails its own slot there (SlotPool._decode), not the whole ray.get
        answers = encode_answers(self.slots.answer(cmd, items))
        for (local, _), (status, _) in zip(items, answers):
            if status != "ok":  # not sent: its privileged value must go again
                self.slots.forget_privileged(local)
        return answers

    def close(self) -> None:
        if self.error is None:
            self.slots.close()


class _ActorWorker:
    """The pool's handle on one actor: its slots, its process id, and how to end it."""

    def __init__(self, remote_cls: Any, factory: Any, slots: list[int], start_timeout: float):
        self.slots = slots
        self.actor = remote_cls.remote(factory, len(slots))
        try:
            kind, payload = ray.get(self.actor.ready.remote(), timeout=start_timeout)
        except GetTimeoutError:
            self.kill()
            raise RuntimeError(
                f"a RayEnvPool actor did not start within {start_timeout:.0f} s; does the Ray cluster have the "
                "resources the actors ask for (actor_options, default num_cpus=1 each)?"
            ) from None
        except RayActorError as exc:
            self.kill()
            raise RuntimeError(f"a RayEnvPool actor failed to start: {exc}") from None
        if kind != "ready":
            self.kill()
            raise RuntimeError(f"a RayEnvPool actor failed to start: {payload}")
        self.pid = payload

    def kill(self) -> None:
        ray.kill(self.actor, no_restart=True)


class RayEnvPool(SlotPool):
    """``num_envs`` envs in ``num_workers`` Ray actors; the same calls and failure handling as ``EnvPool``.

    Args:
        env: a registered env id (built with ``gym.make(env, **env_kwargs)`` in each actor) or a zero-argument
            factory returning an env (pickled with Ray's cloudpickle: lambdas work; a class must be importable
            where the actors run).
        num_envs: the number of slots (envs in flight at once).
        num_workers: actors (default: ``min(num_envs, os.cpu_count())``); slots are spread over them evenly.
        env_kwargs: keyword arguments for ``gym.make``.
        step_timeout: seconds one command of one slot may take before that slot fails (and its actor is replaced,
            as soon as that costs no other slot its episode).
        start_timeout: seconds an actor may take to be scheduled, start and build its envs.
        actor_options: Ray actor options (``num_cpus``, ``resources``, ``scheduling_strategy`` ...); the default
            ``{"num_cpus": 1}`` gives each actor a core, as a process worker would have.
        batch_ms: a slot whose last three commands each came back within this many milliseconds (round trip)
            travels in one actor task with the other such slots of its actor (Ray's per-task cost, about
            0.5 ms, dominates a fast env's step); a slower one gets a task of its own, answered (and timed
            out) on its own. ``0``: a task per slot always.
    """

    def __init__(
        self,
        env: str | EnvFactory,
        num_envs: int = 4,
        num_workers: int | None = None,
        *,
        env_kwargs: dict[str, Any] | None = None,
        step_timeout: float = 60.0,
        start_timeout: float = 120.0,
        actor_options: dict[str, Any] | None = None,
        batch_ms: float = 5.0,
    ):
        super().__init__(env, num_envs, num_workers, env_kwargs, step_timeout, start_timeout)
        self.batch_ms = float(batch_ms)
        self._recent: dict[tuple[int, int], list[float]] = {}  # (actor, local slot) -> last round trips (s)
        per_actor = -(-num_envs // max(1, min(num_workers or os.cpu_count() or 1, num_envs)))
        options = {"num_cpus": 1, "max_restarts": 0, "max_concurrency": per_actor + 1, **(actor_options or {})}
        self._remote_cls = ray.remote(**options)(_EnvActor)
        self._refs: dict[Any, tuple[_ActorWorker, int, list[int], float]] = {}  # task -> (actor, call, slots, sent)
        self._start_workers()

    def _start_worker(self, slots: list[int]) -> _ActorWorker:
        return _ActorWorker(self._remote_cls, self._factory, slots, self.start_timeout)

    def _fast(self, worker: _ActorWorker, local: int) -> bool:
        recent = self._recent.get((id(worker), local), ())
        return len(recent) == 3 and max(recent) * 1000 <= self.batch_ms

    def _transmit(self, w: int, call_id: int, cmd: str, items: list[tuple[int, Any]]) -> None:
        worker = self._workers[w]
        fast = [item for item in items if cmd == "step" and self._fast(worker, item[0])]
        slow = [item for item in items if item not in fast]
        sent = time.monotonic()
        if fast:  # one task for the fast slots; Sokoban-like envs would otherwise pay Ray's cost per slot
            self._refs[worker.actor.answer.remote(cmd, fast)] = (worker, call_id, [local for local, _ in fast], sent)
        for local, payload in slow:  # a task per slot: each is answered (and times out) on its own
            self._refs[worker.actor.answer.remote(cmd, [(local, payload)])] = (worker, call_id, [local], sent)

    def _gather(self, timeout: float) -> list[tuple]:
        live = {w for w in self._workers if w is not None}
        for ref in [r for r, (worker, *_) in self._refs.items() if worker not in live]:
            del self._refs[ref]  # tasks of replaced actors
        if not self._refs:
            time.sleep(timeout)
            return []
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        events = []
        now = time.monotonic()
        for ref in ready:
            worker, call_id, locals_, sent = self._refs.pop(ref)
            try:
                answers = ray.get(ref)
            except RayActorError as exc:
                events.append(("dead", worker, f"the worker actor died ({_first_line(exc)})"))
                continue
            for local, (status, value) in zip(locals_, answers):
                recent = self._recent.setdefault((id(worker), local), [])
                recent[:] = [*recent[-2:], now - sent]
                events.append(("answer", worker, call_id, local, status, value))
        return events

    def _close_workers(self) -> None:
        """Ask every actor to close its envs (bounded by the step timeout), then end them all."""
        live = [w for w in self._workers if w is not None]
        try:
            refs = [worker.actor.close.remote() for worker in live]
            if refs:
                ray.wait(refs, num_returns=len(refs), timeout=min(self.step_timeout, 10.0))
        except Exception:  # noqa: BLE001 - Ray already shut down: the actors are gone with it
            pass
        for worker in live:
            try:
                worker.kill()
            except Exception:  # noqa: BLE001 - Ray may already be shut down
                pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
