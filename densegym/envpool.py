"""``EnvPool``: envs in worker processes, stepped concurrently, with per-slot fault isolation.

Each worker process owns several envs ("slots"). A call (``reset`` / ``step`` / ``call``) sends every
worker its share at once and gathers the answers as they come, so workers step in parallel while the
caller waits once. What can go wrong stays local:

* an env that raises answers its slot with an :class:`EnvFailure`; the worker and the other slots
  carry on;
* a worker that dies, or does not answer within ``step_timeout`` seconds, is killed and restarted with
  fresh envs, and only its slots answer :class:`EnvFailure` (their episodes are lost, no one else's);
* an answer that cannot be pickled in the worker, or unpickled in the caller, fails its own slot only:
  each slot's answer travels as its own pickle;
* every command carries its call's id and every answer the id of the call it answers, so an answer left
  unread by an earlier call that was abandoned (an exception in the caller) is discarded, never taken
  for a later call's.

Every worker runs in its own process group, and killing a worker (a timeout, a restart, ``close``) kills
its whole group: processes an env started (a language server, a test run) do not outlive it.

Workers use the ``multiprocess`` package when it is installed (dill pickling: lambdas and closures work
as env factories) and the standard library's ``multiprocessing`` otherwise.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

try:  # dill-based pickling lets users pass lambdas as env factories
    import multiprocess as mp
    from multiprocess.connection import wait as _wait
except ImportError:  # pragma: no cover - exercised where multiprocess is absent
    import multiprocessing as mp
    from multiprocessing.connection import wait as _wait

EnvFactory = Callable[[], Any]


@dataclass(frozen=True)
class EnvFailure:
    """The answer of a slot whose env raised, whose worker died, or that timed out."""

    slot: int
    reason: str


def _make_factory(env: str | EnvFactory, env_kwargs: dict[str, Any] | None) -> EnvFactory | tuple:
    if isinstance(env, str):
        return ("gym.make", env, dict(env_kwargs or {}))
    if env_kwargs:
        raise ValueError("env_kwargs only apply when env is a registered id")
    return env


def _build(factory: EnvFactory | tuple) -> Any:
    if isinstance(factory, tuple):
        import gymnasium as gym

        import densegym  # noqa: F401 - registers the ids in this process

        _, env_id, kwargs = factory
        return gym.make(env_id, **kwargs)
    return factory()


class Slots:
    """The envs of one worker and their sampling generators: builds them, answers one command for several.

    Shared by the process workers of :class:`EnvPool` and the actors of
    :class:`~densegym.raypool.RayEnvPool`, so that both answer every command the same way. An env that raises
    answers ``("error", message)`` for its own slot only.
    """

    def __init__(self, factory: Any, n_envs: int):
        self.envs = [_build(factory) for _ in range(n_envs)]
        self.rngs = [np.random.default_rng(i) for i in range(n_envs)]

    def answer(self, cmd: str, items: list[tuple[int, Any]]) -> list[tuple[str, Any]]:
        """``[(local index, payload)]`` -> ``[("ok", value) | ("error", message)]`` in the same order."""
        answers = []
        for local, payload in items:
            try:
                env = self.envs[local]
                if cmd == "reset":
                    seed, options, rng_seed = payload
                    self.rngs[local] = np.random.default_rng(rng_seed)
                    answers.append(("ok", env.reset(seed=seed, options=options)))
                elif cmd == "step":
                    answers.append(("ok", env.step(payload)))
                elif cmd == "reward_hooks":
                    answers.append(("ok", self.reward_hooks()))
                elif cmd == "call":
                    name, args, pass_rng = payload
                    method = getattr(env.unwrapped, name)
                    answers.append(("ok", method(self.rngs[local], *args) if pass_rng else method(*args)))
                else:
                    answers.append(("error", f"unknown command {cmd!r}"))
            except Exception as exc:
                answers.append(("error", f"{type(exc).__name__}: {exc}"))
        return answers

    def reward_hooks(self) -> dict[str, dict[str, Any]]:
        """``{component: {"weight", "farmable", "description"}}`` of the first env's reward set (plain data, for
        the trainer's checks); ``{}`` for an env without one."""
        rewards = getattr(self.envs[0].unwrapped, "rewards", None) if self.envs else None
        out = {}
        for name, (hook, weight) in (rewards or {}).items():
            out[name] = {"weight": float(weight), "farmable": bool(getattr(hook, "farmable", False)),
                         "description": str(getattr(hook, "description", "") or "")}
        return out

    def close(self) -> None:
        for env in self.envs:
            try:
                env.close()
            except Exception:
                pass


def encode_answers(answers: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``Slots.answer``'s answers with every value pickled on its own (``("ok", bytes)``), so that a value
    that does not pickle here, or will not unpickle in the caller, fails its own slot only."""
    out = []
    for status, value in answers:
        if status == "ok":
            try:
                out.append(("ok", pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)))
            except Exception as exc:  # e.g. a method returned a lambda
                out.append(("error", f"the answer could not be pickled: {type(exc).__name__}: {exc}"))
        else:
            out.append((status, value))
    return out


def build_error(exc: BaseException) -> str:
    return f"building the env failed: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"


def _send(conn: Any, message: Any) -> None:
    """Commands and answers travel as standard pickles: they are plain data (strings, numbers, dicts), and
    ``multiprocess``'s dill pickler, needed only to ship the env factory to a new worker, is about 100x slower
    on them (some 250 us per batched Sokoban step, more than the steps themselves)."""
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _recv(conn: Any) -> Any:
    return pickle.loads(conn.recv_bytes())


def _worker_main(conn: Any, factory: Any, n_envs: int, ledger: str | None = None) -> None:
    """A worker's loop: build its envs, then answer commands until told to close.

    Commands are ``(call_id, cmd, items)``; answers ``(kind, call_id, payload)`` with the id of the command
    they answer. The worker first makes its own process group, so that the parent can end it together with
    every process its envs started, and writes what its envs leave outside it to ``ledger``
    (:mod:`densegym.leftovers`), so that the parent can remove that too when it kills the worker."""
    from densegym import leftovers

    leftovers.set_ledger(ledger)
    try:
        os.setpgrp()
    except OSError:  # pragma: no cover - already a group leader
        pass
    try:
        slots = Slots(factory, n_envs)
    except BaseException as exc:  # report, do not hang the parent
        _send(conn, ("error", build_error(exc)))
        return
    _send(conn, ("ready", os.getpid()))
    while True:
        try:
            call_id, cmd, items = _recv(conn)
        except (EOFError, OSError):
            break
        if cmd == "close":
            slots.close()
            _send(conn, ("closed", call_id, None))
            break
        _send(conn, ("answers", call_id, encode_answers(slots.answer(cmd, items))))


class _Worker:
    def __init__(self, ctx: Any, factory: Any, slots: list[int], start_timeout: float, ledger: str | None = None):
        self.slots = slots
        self.ledger = ledger
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, factory, len(slots), ledger), daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        if not parent.poll(start_timeout):
            self.kill()
            raise RuntimeError(f"an EnvPool worker did not start within {start_timeout:.0f} s")
        try:
            kind, payload = _recv(parent)
        except (EOFError, OSError):
            self.process.join(timeout=5)
            kind, payload = "error", f"the process exited with code {self.process.exitcode} before it was ready"
        if kind != "ready":
            self.kill()
            raise RuntimeError(f"an EnvPool worker failed to start: {payload}")
        self.pid = payload

    def kill(self) -> None:
        """End the worker and every process in its process group (what its envs started), and wait for them."""
        from densegym.sandbox.processes import kill_group_and_wait

        pid = self.process.pid
        if pid is not None:
            kill_group_and_wait(pid, timeout_s=5.0)  # the worker leads its group (os.setpgrp at its start)
        if self.process.is_alive():  # killed before it made its group
            self.process.kill()
        self.process.join(timeout=5)
        if pid is not None:
            kill_group_and_wait(pid, timeout_s=5.0)  # anything started in that moment
        if self.ledger is not None:  # what its envs started outside its group: servers, temp dirs, cgroups
            from densegym import leftovers

            leftovers.sweep(self.ledger)
        self.conn.close()


class SlotPool:
    """What :class:`EnvPool` and :class:`~densegym.raypool.RayEnvPool` share: ``num_envs`` slots spread
    evenly over workers, the call API (``reset`` / ``step`` / ``call``, each answering every slot with a
    result or an :class:`EnvFailure`) and the lifetime (``close``, context manager).

    A subclass starts one worker for a list of slots (``_start_worker``), runs one command on the workers it
    concerns (``_run``), and ends its workers (``_close_workers``). Keeping the slot bookkeeping here means
    ``collect`` can take either pool and the two cannot drift apart in what a call means.
    """

    def __init__(
        self,
        env: str | EnvFactory,
        num_envs: int,
        num_workers: int | None,
        env_kwargs: dict[str, Any] | None,
        step_timeout: float,
        start_timeout: float,
    ):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.env_id = env if isinstance(env, str) else getattr(env, "__name__", "env")
        self.num_envs = num_envs
        self.num_workers = max(1, min(num_workers or os.cpu_count() or 1, num_envs))
        self.step_timeout = step_timeout
        self.start_timeout = start_timeout
        self.restarts = 0
        self._factory = _make_factory(env, env_kwargs)
        self._slot_owner: dict[int, tuple[int, int]] = {}
        self._call_id = 0
        self._workers: list[Any] = []
        self._closed = False

    def _start_workers(self) -> None:
        groups = np.array_split(np.arange(self.num_envs), self.num_workers)
        try:
            for w, slots in enumerate(groups):
                for local, slot in enumerate(slots):
                    self._slot_owner[int(slot)] = (w, local)
                self._workers.append(self._start_worker([int(s) for s in slots]))
        except BaseException:
            self.close()
            raise

    # ---- calls --------------------------------------------------------------------------------

    def reset(self, requests: dict[int, tuple[int | None, dict | None, Any]]) -> dict[int, Any]:
        """``{slot: (seed, options, rng_seed)}`` -> ``{slot: (obs, info) | EnvFailure}``.

        ``rng_seed`` seeds the slot's sampling generator (what scripted agents draw from), kept apart
        from the env's own seed so that a group can share a task and differ in sampling.
        """
        return self._dispatch("reset", requests)

    def step(self, actions: dict[int, str]) -> dict[int, Any]:
        """``{slot: action}`` -> ``{slot: (obs, reward, terminated, truncated, info) | EnvFailure}``."""
        return self._dispatch("step", actions)

    def call(self, name: str, slots: Sequence[int], *args: Any, pass_rng: bool = False) -> dict[int, Any]:
        """Call ``env.unwrapped.<name>(*args)`` (first argument the slot's generator if ``pass_rng``)."""
        return self._dispatch("call", {s: (name, args, pass_rng) for s in slots})

    def call_each(self, name: str, args: dict[int, tuple]) -> dict[int, Any]:
        """Call ``env.unwrapped.<name>(*args[slot])`` on each slot of ``args``: different arguments per slot."""
        return self._dispatch("call", {s: (name, tuple(a), False) for s, a in args.items()})

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers if w is not None]

    def _dispatch(self, cmd: str, payloads: dict[int, Any]) -> dict[int, Any]:
        if self._closed:
            raise RuntimeError(f"the {type(self).__name__} is closed")
        by_worker: dict[int, list[tuple[int, int, Any]]] = {}
        for slot, payload in payloads.items():
            if slot not in self._slot_owner:
                raise ValueError(f"no slot {slot}: the pool has slots 0..{self.num_envs - 1}")
            w, local = self._slot_owner[slot]
            by_worker.setdefault(w, []).append((slot, local, payload))
        return self._run(cmd, by_worker)

    @staticmethod
    def _record(items: list[tuple[int, int, Any]], answers: list[tuple[str, Any]], results: dict[int, Any]) -> None:
        """A worker's answers (:func:`encode_answers`) into ``results``: the unpickled value, or an EnvFailure
        for an error or for a value that does not unpickle here (that slot only)."""
        for (slot, _, _), (status, value) in zip(items, answers):
            if status != "ok":
                results[slot] = EnvFailure(slot, value)
                continue
            try:
                results[slot] = pickle.loads(value)
            except Exception as exc:  # noqa: BLE001 - whatever its __reduce__ raised
                results[slot] = EnvFailure(slot, f"the answer could not be unpickled: {type(exc).__name__}: {exc}")

    def reward_hooks(self) -> dict[str, dict[str, Any]]:
        """The reward components of the pool's env (slot 0's): ``{name: {"weight", "farmable", "description"}}``
        (what :class:`~densegym.trainers.Trainer` checks its estimator against); ``{}`` if it has none."""
        if self._closed:
            raise RuntimeError(f"the {type(self).__name__} is closed")
        w, _ = self._slot_owner[0]
        results = self._run("reward_hooks", {w: [(0, 0, None)]})
        answer = results.get(0)
        if isinstance(answer, EnvFailure):
            raise RuntimeError(f"reading the env's reward hooks failed: {answer.reason}")
        return answer or {}

    def _fail_worker(self, w: int, items: list, results: dict[int, Any], reason: str) -> None:
        """Kill and restart worker ``w``; every slot it owns in this call fails with ``reason``."""
        for slot, _, _ in items:
            results[slot] = EnvFailure(slot, reason)
        old = self._workers[w]
        old.kill()
        self.restarts += 1
        self._workers[w] = self._start_worker(old.slots)

    def _start_worker(self, slots: list[int]) -> Any:
        """A started worker for ``slots``, with ``slots``, ``pid`` and ``kill()``."""
        raise NotImplementedError

    def _run(self, cmd: str, by_worker: dict[int, list[tuple[int, int, Any]]]) -> dict[int, Any]:
        raise NotImplementedError

    def _close_workers(self) -> None:
        raise NotImplementedError

    # ---- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close every env and end every worker (killing one that does not exit)."""
        if self._closed:
            return
        self._closed = True
        self._close_workers()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class EnvPool(SlotPool):
    """``num_envs`` envs in ``num_workers`` processes.

    Args:
        env: a registered env id (built with ``gym.make(env, **env_kwargs)`` in each worker) or a
            zero-argument factory returning an env.
        num_envs: the number of slots (envs in flight at once).
        num_workers: worker processes (default: ``min(num_envs, os.cpu_count())``); slots are spread
            over them evenly.
        env_kwargs: keyword arguments for ``gym.make``.
        step_timeout: seconds a worker may take to answer one call before it is killed and restarted.
        start_timeout: seconds a worker may take to start and build its envs.
        start_method: the multiprocessing start method ("spawn" is safe with threads and CUDA).
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
        start_method: str = "spawn",
    ):
        super().__init__(env, num_envs, num_workers, env_kwargs, step_timeout, start_timeout)
        self._ctx = mp.get_context(start_method)
        self._ledgers = tempfile.mkdtemp(prefix="densegym-pool-")
        self._started = 0
        self._start_workers()

    def _start_worker(self, slots: list[int]) -> _Worker:
        self._started += 1
        ledger = os.path.join(self._ledgers, f"worker-{self._started}.jsonl")
        return _Worker(self._ctx, self._factory, slots, self.start_timeout, ledger)

    def _run(self, cmd: str, by_worker: dict[int, list[tuple[int, int, Any]]]) -> dict[int, Any]:
        results: dict[int, Any] = {}
        pending: dict[Any, int] = {}
        self._call_id += 1
        call_id = self._call_id
        for w, items in by_worker.items():
            try:
                _send(self._workers[w].conn, (call_id, cmd, [(local, payload) for _, local, payload in items]))
                pending[self._workers[w].conn] = w
            except (OSError, ValueError):
                self._fail_worker(w, by_worker[w], results, self._death_reason(w))
        deadline = time.monotonic() + self.step_timeout
        while pending:
            ready = _wait(list(pending), timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                for conn, w in list(pending.items()):
                    self._fail_worker(w, by_worker[w], results, f"no answer within the step timeout ({self.step_timeout:g} s)")
                break
            for conn in ready:
                w = pending[conn]
                try:
                    kind, answer_id, answers = _recv(conn)
                except (EOFError, OSError):
                    del pending[conn]
                    self._fail_worker(w, by_worker[w], results, self._death_reason(w))
                    continue
                except Exception as exc:  # noqa: BLE001 - a message that is not the protocol's: the worker is unsound
                    del pending[conn]
                    self._fail_worker(w, by_worker[w], results, f"an unreadable answer ({type(exc).__name__}: {exc})")
                    continue
                if answer_id != call_id:
                    continue  # left unread by an earlier, abandoned call: not this call's answer
                del pending[conn]
                self._record(by_worker[w], answers, results)
        return results

    def _death_reason(self, w: int) -> str:
        proc = self._workers[w].process
        proc.join(timeout=1)
        return f"the worker process died (exit code {proc.exitcode})"

    def _close_workers(self) -> None:
        for worker in self._workers:
            if worker is None:
                continue
            try:
                _send(worker.conn, (-1, "close", None))
                end = time.monotonic() + 10
                while worker.conn.poll(max(0.0, end - time.monotonic())):  # skip unread answers up to "closed"
                    if _recv(worker.conn)[0] == "closed":
                        break
            except (OSError, EOFError, ValueError, pickle.UnpicklingError):
                pass
            worker.process.join(timeout=5)
            worker.kill()  # the worker's process group too: what its envs started and left running
        ledgers = getattr(self, "_ledgers", None)
        if ledgers is not None:
            shutil.rmtree(ledgers, ignore_errors=True)
