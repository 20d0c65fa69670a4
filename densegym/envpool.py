"""``EnvPool``: envs in worker processes, stepped independently, with per-slot fault isolation.

Each worker process owns several envs ("slots"). Two interfaces share the same workers:

* **asynchronous**: ``submit(slot, cmd, payload)`` (or ``submit_many(cmd, {slot: payload})``, one message
  per worker) sends a command and returns at once; ``poll(timeout)`` returns ``[(slot, result)]`` for the
  commands that have finished, in the order they finished. Every slot is answered on its own: a slow step
  on one slot does not hold back the answer of another, in the same worker or not. This is what
  :func:`densegym.rollout.collect` runs on.
* **synchronous**: ``reset`` / ``step`` / ``call`` send every slot its command and return when all have
  answered (built on the same machinery; answers of asynchronous commands that arrive meanwhile wait for
  the next ``poll``).

How a worker runs its slots independently. A worker reads commands on its main thread and runs each slot's
commands on that slot's own thread, so that a slot whose step waits on a test run, a language server or a
page load does not delay the steps of the other slots, and each answer goes back the moment it is ready.
Threads (rather than one process per env) keep a worker's shared resources shared (a search index, a
browser, a Docker client: docs/architecture.md, "Resources and crash cleanup") and let the pool put many light envs in few processes;
the heavy work of the envs that need concurrency happens in subprocesses, servers and I/O, which release
the GIL. Handing a command to a thread costs some 10-20 us, which is a quarter of a Sokoban step, so a slot
whose last three steps (or calls) each took under ``inline_ms`` (default 2 ms) runs its next step on the
worker's main thread instead, batched with the other fast slots of the same message into one answer (what the
synchronous pool always did); so does its reset when, besides, its last reset took under ten times
``inline_ms`` (a Sokoban reset generates a level: about 1 ms, up to a few; a slot's first reset, which may start
a server, runs on its thread): fast envs keep their full speed, slow envs get their own thread as soon as they
show it. A slot's env is only ever used by one thread at a time (it may be a different thread from one command
to the next). ``inline_ms=0`` puts every command on its slot's thread.

What can go wrong stays local:

* an env that raises answers its slot with an :class:`EnvFailure`; the worker and the other slots
  carry on;
* **a step that exceeds ``step_timeout`` seconds fails that slot's episode only** (the time limit is per
  command, counted from when it was sent). A thread cannot be stopped from outside, so the stuck step ends
  with its worker: when no other slot of that worker has an episode in progress, the worker is killed and
  restarted at once; otherwise the worker *retires*: its other slots finish their episodes undisturbed,
  the timed-out slot and every new episode on the worker wait, and the worker is killed and restarted (fresh
  envs, the waiting commands then sent) as soon as none of its slots has an episode in progress. If the
  caller waits on nothing but those waiting commands (a synchronous call for the timed-out slot while another
  slot's episode stays open), the worker is restarted then, and the open episodes of its other slots answer
  their next command with an :class:`EnvFailure` saying they were lost;
* a worker that dies is restarted; its slots' commands in flight answer :class:`EnvFailure`, and so does the
  next command of any other of its slots whose episode was in progress (no one else's);
* an answer that cannot be pickled in the worker, or unpickled in the caller, fails its own slot only:
  each slot's answer travels as its own pickle;
* every command carries its call's id and every answer the id of the call it answers, so an answer left
  unread by an earlier call that was abandoned (an exception in the caller), or the late answer of a step
  that timed out, is discarded, never taken for a later call's.

A step that ran on the worker's main thread (a slot that had been fast) and then hangs also stops the
worker from reading commands: the other slots' commands then time out as well. Set ``inline_ms=0`` for envs
whose steps are usually fast but can hang.

``info["privileged"]`` (gold answers, the trainer's only) crosses the pipe only when it changed: the worker
keeps a digest of the last value it sent for the slot's episode, sends a small marker instead when the new
value has the same digest, and the pool puts its copy of the last value back into ``info``, so every
``reset`` / ``step`` result carries ``info["privileged"]`` as the env gave it (equal, not the same object
the env built: the pool hands out its own copy, the same object on every step of an episode).

Every worker runs in its own process group, and killing a worker (a timeout, a restart, ``close``) kills
its whole group: processes an env started (a language server, a test run) do not outlive it.

Workers are started with the ``multiprocess`` package (a dependency of densegym: its dill pickling ships
lambdas and closures as env factories, which the standard library's pickle cannot).

Workers start with "spawn" by default, which imports the main module again in every worker: a script that
creates an EnvPool at the top level, without ``if __name__ == "__main__":``, would start workers from its
workers. Such a worker stops at once, and the pool says why and what to change (``UNGUARDED_MAIN_EXIT``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import queue
import select
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

try:  # dill-based pickling lets users pass lambdas and closures as env factories
    import multiprocess as mp
    from multiprocess.connection import wait as _wait
except ImportError as _missing:  # pragma: no cover - a dependency of densegym; never fall back to pickle silently
    raise ImportError(
        "EnvPool needs the multiprocess package, a dependency of densegym (its dill pickling ships lambdas and "
        "closures to the workers): pip install multiprocess"
    ) from _missing

EnvFactory = Callable[[], Any]

# The exit code of a worker that stopped because it was creating an EnvPool itself while it re-ran the main
# module (a script without ``if __name__ == "__main__":``); the parent turns it into UNGUARDED_MAIN_MESSAGE.
UNGUARDED_MAIN_EXIT = 87
UNGUARDED_MAIN_MESSAGE = (
    "a worker process re-ran {script} and got to the code that creates an EnvPool. Workers start with "
    "'spawn', which imports the main module in every worker; put the code that creates the EnvPool (and runs "
    "it) under `if __name__ == \"__main__\":` so that it runs in the main process only"
)


def _bootstrapping() -> bool:
    """Whether this process is a worker still importing its parent's main module (spawn or forkserver):
    ``multiprocessing`` marks the process ``_inheriting`` meanwhile, and refuses to start processes then."""
    import multiprocessing.process

    return any(getattr(module.current_process(), "_inheriting", False)
               for module in (mp.process, multiprocessing.process))


def _main_script() -> str:
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return f"your script {path}" if path else "the main module"


@dataclass(frozen=True)
class EnvFailure:
    """The answer of a slot whose env raised, whose worker died, or that timed out."""

    slot: int
    reason: str


@dataclass(frozen=True)
class PrivilegedSent:
    """``info["privileged"]`` as it crosses the pipe when it changed: the value and its digest."""

    digest: bytes
    value: Any


@dataclass(frozen=True)
class PrivilegedUnchanged:
    """``info["privileged"]`` as it crosses the pipe when it did not change: the digest of the value last sent."""

    digest: bytes


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
    answers ``("error", message)`` for its own slot only. ``reset`` and ``step`` answers carry
    ``info["privileged"]`` as :class:`PrivilegedSent` when it changed since the last answer of the slot's
    episode and as :class:`PrivilegedUnchanged` when it did not (the pool puts the value back).
    """

    def __init__(self, factory: Any, n_envs: int):
        self.envs = [_build(factory) for _ in range(n_envs)]
        self.rngs = [np.random.default_rng(i) for i in range(n_envs)]
        self.sent_digest: dict[int, bytes] = {}  # local -> digest of the privileged value last sent
        self.privileged_encodings = 0  # how many times a privileged value was pickled to be sent (tests)

    SMALL_ANSWER = 4096  # bytes: a pickled reset / step answer under this is sent as it is (answer_encoded)

    def answer(self, cmd: str, items: list[tuple[int, Any]]) -> list[tuple[str, Any]]:
        """``[(local index, payload)]`` -> ``[("ok", value) | ("error", message)]`` in the same order."""
        return [self.answer_one(cmd, local, payload) for local, payload in items]

    def answer_one(self, cmd: str, local: int, payload: Any) -> tuple[str, Any]:
        try:
            env = self.envs[local]
            if cmd == "reset":
                seed, options, rng_seed = payload
                self.rngs[local] = np.random.default_rng(rng_seed)
                self.sent_digest.pop(local, None)
                obs, info = env.reset(seed=seed, options=options)
                return ("ok", (obs, self._privileged(local, info)))
            if cmd == "step":
                obs, reward, terminated, truncated, info = env.step(payload)
                return ("ok", (obs, reward, terminated, truncated, self._privileged(local, info)))
            if cmd == "reward_hooks":
                return ("ok", self.reward_hooks())
            if cmd == "privileged_encodings":
                return ("ok", self.privileged_encodings)
            if cmd == "call":
                name, args, pass_rng = payload
                method = getattr(env.unwrapped, name)
                return ("ok", method(self.rngs[local], *args) if pass_rng else method(*args))
            return ("error", f"unknown command {cmd!r}")
        except Exception as exc:
            return ("error", f"{type(exc).__name__}: {exc}")

    def answer_encoded(self, cmd: str, local: int, payload: Any) -> tuple[str, Any]:
        """``encode_one(answer_one(cmd, local, payload))``, cheaper for the usual reset or step: its answer is pickled
        first, and when that comes to under ``SMALL_ANSWER`` bytes it is sent as it is (resending a small privileged
        value costs less than checking it); only a larger answer has its privileged value looked at (digest,
        marker). What the caller receives is the same either way."""
        if cmd != "step" and cmd != "reset":
            return encode_one(self.answer_one(cmd, local, payload))
        try:
            env = self.envs[local]
            if cmd == "step":
                obs, reward, terminated, truncated, info = env.step(payload)
                value: tuple = (obs, reward, terminated, truncated, info)
            else:
                seed, options, rng_seed = payload
                self.rngs[local] = np.random.default_rng(rng_seed)
                self.sent_digest.pop(local, None)
                obs, info = env.reset(seed=seed, options=options)
                value = (obs, info)
        except Exception as exc:
            return ("error", f"{type(exc).__name__}: {exc}")
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - encode_one below reports it (after the privileged value is swapped)
            data = None
        if data is not None and len(data) < self.SMALL_ANSWER:
            return ("ok", data)
        crossing = self._privileged(local, info)
        if crossing is info and data is not None:
            return ("ok", data)
        return encode_one(("ok", (*value[:-1], crossing)))

    def _privileged(self, local: int, info: Any) -> Any:
        """``info`` with its privileged value replaced by what crosses the pipe (a copy: the env's dict is left
        alone). A value that does not pickle is left as it is: the answer's own pickling reports it."""
        if not isinstance(info, dict) or info.get("privileged") is None:
            return info
        value = info["privileged"]
        if _small(value):  # Sokoban's few numbers: hashing would cost more than sending them again
            if self.sent_digest:
                self.sent_digest.pop(local, None)
            return info
        try:
            digest = hashlib.blake2b(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), digest_size=16).digest()
        except Exception:  # noqa: BLE001 - reported when the whole answer is pickled
            self.sent_digest.pop(local, None)
            return info
        if self.sent_digest.get(local) == digest:
            return {**info, "privileged": PrivilegedUnchanged(digest)}
        self.sent_digest[local] = digest
        self.privileged_encodings += 1
        return {**info, "privileged": PrivilegedSent(digest, value)}

    def forget_privileged(self, local: int) -> None:
        """The slot's last answer was not sent: its privileged value must go again."""
        self.sent_digest.pop(local, None)

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


def _small(value: Any, budget: int = 64) -> bool:
    """Whether ``value`` is a few plain scalars (at most ``budget`` of them, strings counted by 64 characters):
    cheaper to send every step than to hash. Containers are walked only until the budget runs out."""
    if type(value) is dict and len(value) * 2 <= budget:  # the usual shape: a flat dict of short scalars
        for key, item in value.items():
            if type(key) is not str or len(key) >= 64:
                break
            kind = type(item)
            if not (kind is int or kind is float or kind is bool or item is None or (kind is str and len(item) < 64)):
                break
        else:
            return True
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            budget -= 1 + len(item) // 64
        elif isinstance(item, (int, float, bool)) or item is None:
            budget -= 1
        elif isinstance(item, dict):
            budget -= 1
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            budget -= 1
            todo.extend(item)
        else:
            return False
        if budget < 0:
            return False
    return True


def encode_one(answer: tuple[str, Any]) -> tuple[str, Any]:
    """One answer of :class:`Slots` with its value pickled on its own (``("ok", bytes)``), so that a value that
    does not pickle here, or will not unpickle in the caller, fails its own slot only."""
    status, value = answer
    if status != "ok":
        return answer
    try:
        return ("ok", pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as exc:  # e.g. a method returned a lambda
        return ("error", f"the answer could not be pickled: {type(exc).__name__}: {exc}")


def encode_answers(answers: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """:func:`encode_one` for each answer."""
    return [encode_one(a) for a in answers]


def build_error(exc: BaseException) -> str:
    return f"building the env failed: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"


def _send(conn: Any, message: Any) -> None:
    """Commands and answers travel as standard pickles: they are plain data (strings, numbers, dicts), and
    ``multiprocess``'s dill pickler, needed only to ship the env factory to a new worker, is about 100x slower
    on them (some 250 us per batched Sokoban step, more than the steps themselves)."""
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _recv(conn: Any) -> Any:
    return pickle.loads(conn.recv_bytes())


class _SlotRunner:
    """What a worker runs for its slots: each command on the main thread when the slot has been fast, else on
    the slot's own thread; every answer is sent as soon as it is ready (``("answers", [(call_id, local,
    status, value)])``), the main thread's answers of one message together.

    A slot is fast when its last ``FAST_RUN`` steps and calls each took under ``inline_ms`` (``streak``), and
    for a reset also its last reset took under ``RESET_FACTOR * inline_ms`` (``reset_fast``; a slot's first
    reset, which may start a server, runs on its thread). ``queued`` counts the commands a slot's thread has yet to answer: while it has any, the slot's
    next commands follow them there (one thread at a time per env). Only the main thread raises ``queued``, so it
    reads it without the lock: a zero it sees stays zero until it queues a command itself."""

    FAST_RUN = 3
    RESET_FACTOR = 10  # a reset counts as fast under 10 x inline_ms: resets are rarer and costlier than steps

    def __init__(self, conn: Any, slots: Slots, inline_ms: float):
        self.conn, self.slots = conn, slots
        self.inline_s = inline_ms / 1000.0
        self.always_inline = inline_ms == float("inf")
        self.reset_inline_s = self.RESET_FACTOR * self.inline_s
        self.send_lock = threading.Lock()
        self.count_lock = threading.Lock()
        n = len(slots.envs)
        self.streak = [0] * n  # how many of the slot's last steps / calls in a row took under inline_ms
        self.reset_fast = [False] * n  # whether the slot's last reset took under inline_ms
        self.queued = [0] * n  # commands given to the slot's thread and not yet answered
        self.queues: dict[int, queue.SimpleQueue] = {}

    def send(self, answers: list[tuple]) -> None:
        with self.send_lock:
            _send(self.conn, ("answers", answers))

    def run(self, call_id: int, cmd: str, local: int, payload: Any) -> tuple:
        start = time.perf_counter()
        status, value = self.slots.answer_encoded(cmd, local, payload)
        elapsed = time.perf_counter() - start
        fast = elapsed < self.inline_s
        if status != "ok":
            self.slots.forget_privileged(local)
        if cmd == "reset":
            self.reset_fast[local] = elapsed < self.reset_inline_s
        elif fast:
            self.streak[local] += 1
        else:
            self.streak[local] = 0
        return (call_id, local, status, value)

    def handle(self, call_id: int, cmd: str, items: list[tuple[int, Any]]) -> None:
        inline = []
        queued, streak, reset_fast = self.queued, self.streak, self.reset_fast
        fast_run, inline_s, always = self.FAST_RUN, self.inline_s, self.always_inline
        reset = cmd == "reset"
        answer, clock = self.slots.answer_encoded, time.perf_counter
        for local, payload in items:
            if queued[local] == 0 and (always or (streak[local] >= fast_run and (not reset or reset_fast[local]))):
                # self.run(...), spelled out: this is the path of every fast step
                start = clock()
                status, value = answer(cmd, local, payload)
                elapsed = clock() - start
                fast = elapsed < inline_s
                if status != "ok":
                    self.slots.forget_privileged(local)
                if reset:
                    reset_fast[local] = elapsed < self.reset_inline_s
                elif fast:
                    streak[local] += 1
                else:
                    streak[local] = 0
                inline.append((call_id, local, status, value))
                continue
            with self.count_lock:
                queued[local] += 1
            self._queue(local).put((call_id, cmd, payload))
        if inline:
            self.send(inline)

    def _queue(self, local: int) -> queue.SimpleQueue:
        if local not in self.queues:
            self.queues[local] = queue.SimpleQueue()
            threading.Thread(target=self._loop, args=(local,), name=f"densegym-slot-{local}", daemon=True).start()
        return self.queues[local]

    def _loop(self, local: int) -> None:
        q = self.queues[local]
        while True:
            call_id, cmd, payload = q.get()
            try:
                answer = self.run(call_id, cmd, local, payload)
            finally:
                with self.count_lock:
                    self.queued[local] -= 1
            try:
                self.send([answer])
            except (OSError, ValueError):  # the parent has gone: nothing to answer to
                return


def _worker_main(conn: Any, factory: Any, n_envs: int, ledger: str | None = None, inline_ms: float = 2.0) -> None:
    """A worker's loop: build its envs, then read commands until told to close, running them with
    :class:`_SlotRunner`.

    Commands are ``(call_id, cmd, items)`` with ``items = [(local, payload)]``; answers ``("answers",
    [(call_id, local, status, value)])``. The worker first makes its own process group, so that the parent can
    end it together with every process its envs started, and writes what its envs leave outside it to
    ``ledger`` (:mod:`densegym.leftovers`), so that the parent can remove that too when it kills the worker."""
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
    runner = _SlotRunner(conn, slots, inline_ms)
    while True:
        try:
            call_id, cmd, items = _recv(conn)
        except (EOFError, OSError):
            break
        if cmd == "close":
            slots.close()
            with runner.send_lock:
                _send(conn, ("closed", call_id, None))
            break
        runner.handle(call_id, cmd, items)


class _Worker:
    def __init__(self, ctx: Any, factory: Any, slots: list[int], start_timeout: float, ledger: str | None = None,
                 inline_ms: float = 2.0):
        self.slots = slots
        self.ledger = ledger
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, factory, len(slots), ledger, inline_ms),
                                   daemon=True)
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
            if self.process.exitcode == UNGUARDED_MAIN_EXIT:
                kind, payload = "error", UNGUARDED_MAIN_MESSAGE.format(script=_main_script())
            else:
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


class WorkerGone(Exception):
    """Raised by a pool's ``_transmit`` when the worker cannot take a command (it has died)."""


class SlotPool:
    """What :class:`EnvPool` and :class:`~densegym.raypool.RayEnvPool` share: ``num_envs`` slots spread
    evenly over workers, the asynchronous interface (``submit`` / ``submit_many`` / ``poll``), the synchronous
    one built on it (``reset`` / ``step`` / ``call``, each answering every slot with a result or an
    :class:`EnvFailure`), per-command timeouts, the restart policy, and the lifetime (``close``, context
    manager).

    A subclass starts one worker for a list of slots (``_start_worker``), sends one command for some of a
    worker's slots (``_transmit``), returns the answers that have arrived (``_gather``), and ends its workers
    (``_close_workers``). Keeping the scheduling here means ``collect`` can take either pool and the two
    cannot drift apart in what a call means.
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
        self._pending: dict[int, tuple[int, str, float]] = {}  # slot -> (call id, cmd, deadline): sent, unanswered
        self._held: dict[int, tuple[str, Any]] = {}  # slot -> (cmd, payload): waits for its worker's restart
        self._done: dict[int, Any] = {}  # slot -> result: answered, not handed out yet (in answer order)
        self._live: set[int] = set()  # slots with an episode in progress
        self._lost: dict[int, str] = {}  # slot -> why its open episode is gone (its worker was replaced)
        self._retiring: dict[int, str] = {}  # worker -> why: restart it once none of its slots is in an episode
        self._privileged: dict[int, tuple[bytes, Any]] = {}  # slot -> (digest, value) of info["privileged"]
        self._earliest = float("inf")  # no later than the earliest deadline in _pending (_expire makes it exact)
        self._worker_index: dict[int, int] = {}  # id(worker) -> its index in _workers (checked on use)
        self.answer_sizes: dict[int, int] = {}  # slot -> bytes of its last answer's value as it crossed over

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

    # ---- the asynchronous interface ---------------------------------------------------------------

    def submit(self, slot: int, cmd: str, payload: Any) -> None:
        """Send one command (``"reset"``: ``(seed, options, rng_seed)``; ``"step"``: an action; ``"call"``:
        ``(method name, args, pass_rng)``) to ``slot`` and return at once; its result comes from :meth:`poll`.
        A slot takes one command at a time."""
        self.submit_many(cmd, {slot: payload})

    def submit_many(self, cmd: str, payloads: dict[int, Any]) -> None:
        """:meth:`submit` for several slots at once: one message per worker. Each slot is answered on its own."""
        self._check_open()
        owner, pending, held, done, lost = self._slot_owner, self._pending, self._held, self._done, self._lost
        for slot in payloads:
            if slot not in owner:
                raise ValueError(f"no slot {slot}: the pool has slots 0..{self.num_envs - 1}")
            if slot in pending or slot in held or slot in done:
                raise ValueError(f"slot {slot} already has a command in progress (poll() for its result first)")
        self._call_id += 1
        by_worker: dict[int, list[tuple[int, int, Any]]] = {}
        reset, retiring = cmd == "reset", self._retiring
        for slot, payload in payloads.items():
            if reset:
                if lost:
                    lost.pop(slot, None)
                self._live.discard(slot)
                self._privileged.pop(slot, None)
            elif lost and slot in lost:
                done[slot] = EnvFailure(slot, lost[slot])
                continue
            w, local = owner[slot]
            if retiring and w in retiring and (reset or slot not in self._live):
                held[slot] = (cmd, payload)  # sent once the worker has been restarted
                continue
            items = by_worker.get(w)
            if items is None:
                by_worker[w] = [(slot, local, payload)]
            else:
                items.append((slot, local, payload))
        for w, items in by_worker.items():
            self._send_to(w, self._call_id, cmd, items)
        if retiring:
            self._restart_idle_retirees()

    def poll(self, timeout: float | None = None) -> list[tuple[int, Any]]:
        """The results of submitted commands that have finished, ``[(slot, result | EnvFailure)]`` in the order
        they finished; waits up to ``timeout`` seconds (``None``: until there is one) when none has yet, and
        returns ``[]`` when none comes in time or nothing is in progress."""
        self._check_open()
        end = None if timeout is None else time.monotonic() + timeout
        while not self._done and (self._pending or self._held):
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                break
            self._pump(left)
        done, self._done = list(self._done.items()), {}
        return done

    @property
    def in_flight(self) -> int:
        """Commands sent to a worker and not answered yet (commands waiting for a worker's restart not counted)."""
        return len(self._pending)

    @property
    def waiting(self) -> int:
        """Commands waiting for their worker's restart (see the module's notes on timeouts)."""
        return len(self._held)

    # ---- the synchronous interface ----------------------------------------------------------------

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

    def reward_hooks(self) -> dict[str, dict[str, Any]]:
        """The reward components of the pool's env (slot 0's): ``{name: {"weight", "farmable", "description"}}``
        (what :class:`~densegym.trainers.Trainer` checks its estimator against); ``{}`` if it has none."""
        answer = self._dispatch("reward_hooks", {0: None}).get(0)
        if isinstance(answer, EnvFailure):
            raise RuntimeError(f"reading the env's reward hooks failed: {answer.reason}")
        return answer or {}

    def privileged_encodings(self) -> int:
        """How many times the pool's workers have pickled a privileged value to send it since they started (for
        tests and benchmarks: a step whose ``info["privileged"]`` did not change does not add one)."""
        answers = self._dispatch("privileged_encodings", {worker.slots[0]: None for worker in self._workers})
        return sum(a for a in answers.values() if not isinstance(a, EnvFailure))

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers if w is not None]

    def _dispatch(self, cmd: str, payloads: dict[int, Any]) -> dict[int, Any]:
        self.submit_many(cmd, payloads)
        done = self._done
        waiting = [s for s in payloads if s not in done]
        while waiting:
            self._pump(None)
            waiting = [s for s in waiting if s not in done]
        return {s: done.pop(s) for s in payloads}

    # ---- scheduling -------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the {type(self).__name__} is closed")

    def _send_to(self, w: int, call_id: int, cmd: str, items: list[tuple[int, int, Any]]) -> None:
        deadline = time.monotonic() + self.step_timeout
        if deadline < self._earliest:
            self._earliest = deadline
        pending = self._pending
        for slot, _, _ in items:
            pending[slot] = (call_id, cmd, deadline)
        try:
            self._transmit(w, call_id, cmd, [(local, payload) for _, local, payload in items])
        except WorkerGone as gone:
            self._worker_died(w, str(gone))

    def _pump(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` for answers (and no longer than the next deadline); take them in; enforce the
        deadlines; restart the workers that are due."""
        if not self._pending:
            if self._held:  # the caller waits on nothing but commands for retiring workers: restart them now
                for w in {self._slot_owner[s][0] for s in self._held}:
                    self._restart(w, lose_open_episodes=True)
            return
        earliest = self._earliest  # no later than the earliest deadline in flight
        wait = max(0.0, earliest - time.monotonic())
        if timeout is not None and timeout < wait:
            wait = timeout
        all_pending, done, decode = self._pending, self._done, self._decode
        last, slots = None, None  # the worker of the previous event (its answers come together) and its slots
        for event in self._gather(wait):
            worker = event[1]
            if event[0] == "dead":
                w = self._index_of(worker)
                if w is not None:
                    self._worker_died(w, event[2])
                last = None
                continue
            if worker is not last:
                w = self._index_of(worker)
                last, slots = worker, (None if w is None else worker.slots)
            if slots is None:
                continue  # from a worker that has been replaced
            _, _, call_id, local, status, value = event
            slot = slots[local]
            pending = all_pending.get(slot)
            if pending is None or pending[0] != call_id:
                continue  # left unread by an abandoned call, or the late answer of a step that timed out
            del all_pending[slot]
            done[slot] = decode(slot, pending[1], status, value)
        if earliest <= time.monotonic():  # a deadline may have passed: find which, and the next one
            self._expire()
        if self._retiring:
            self._restart_idle_retirees()

    def _expire(self) -> None:
        """Time out the commands whose deadline has passed; ``_earliest`` becomes the next deadline."""
        now = time.monotonic()
        for slot in list(self._pending):
            pending = self._pending.get(slot)
            if pending is not None and pending[2] <= now:
                self._timed_out(slot)
        self._earliest = min((d for _, _, d in self._pending.values()), default=float("inf"))

    def _index_of(self, worker: Any) -> int | None:
        w = self._worker_index.get(id(worker))
        if w is not None and w < len(self._workers) and self._workers[w] is worker:
            return w
        for w, current in enumerate(self._workers):
            if current is worker:
                self._worker_index[id(worker)] = w
                return w
        return None

    def _decode(self, slot: int, cmd: str, status: str, value: Any) -> Any:
        """An answer into a result: the unpickled value with ``info["privileged"]`` put back, or an EnvFailure for
        an error or a value that does not unpickle here (that slot only). Keeps the slot's episode state."""
        episode = cmd == "step" or cmd == "reset"
        if status != "ok":
            if episode:
                self._live.discard(slot)
            return EnvFailure(slot, value)
        if type(value) is bytes:
            self.answer_sizes[slot] = len(value)
            try:
                value = pickle.loads(value)
            except Exception as exc:  # noqa: BLE001 - whatever its __reduce__ raised
                if episode:
                    self._live.discard(slot)
                return EnvFailure(slot, f"the answer could not be unpickled: {type(exc).__name__}: {exc}")
        if episode and type(value) is tuple and value and isinstance(value[-1], dict):
            info = value[-1]
            sent = info.get("privileged")
            kind = type(sent)
            if kind is PrivilegedSent:
                self._privileged[slot] = (sent.digest, sent.value)
                info["privileged"] = sent.value
            elif kind is PrivilegedUnchanged:
                known = self._privileged.get(slot)
                if known is None or known[0] != sent.digest:
                    self._live.discard(slot)
                    return EnvFailure(slot, "info['privileged'] was sent as unchanged, but its last value never "
                                            "arrived here (an earlier answer of this episode failed)")
                info["privileged"] = known[1]
            if cmd == "reset" or not (value[2] or value[3]):
                self._live.add(slot)
            else:
                self._live.discard(slot)
        return value

    def _timed_out(self, slot: int) -> None:
        """``slot``'s command missed its deadline: it fails; its worker restarts now, or retires if another of
        its slots has an episode in progress (module docstring)."""
        del self._pending[slot]
        self._live.discard(slot)
        self._done[slot] = EnvFailure(slot, f"no answer within the step timeout ({self.step_timeout:g} s)")
        w = self._slot_owner[slot][0]
        others = [s for s in self._workers[w].slots if s != slot]
        if any(s in self._live or s in self._pending for s in others):
            self._retiring.setdefault(w, f"slot {slot} timed out")
        else:
            self._restart(w)

    def _restart_idle_retirees(self) -> None:
        for w in list(self._retiring):
            if not any(s in self._live or s in self._pending for s in self._workers[w].slots):
                self._restart(w)

    def _worker_died(self, w: int, reason: str) -> None:
        """Worker ``w`` is gone: its commands in flight fail with ``reason``, its open episodes are lost."""
        for slot in self._workers[w].slots:
            if slot in self._pending:
                del self._pending[slot]
                self._done[slot] = EnvFailure(slot, reason)
                self._live.discard(slot)
        self._restart(w, lose_open_episodes=True, reason=reason)

    def _restart(self, w: int, lose_open_episodes: bool = False, reason: str | None = None) -> None:
        """Kill and restart worker ``w``, then send the commands that waited for it."""
        old = self._workers[w]
        why = reason or self._retiring.get(w, "the worker was restarted")
        for slot in old.slots:
            if slot in self._live and lose_open_episodes:
                self._lost[slot] = f"the episode was lost: its worker was restarted ({why})"
            self._live.discard(slot)
            self._privileged.pop(slot, None)
        self._retiring.pop(w, None)
        old.kill()
        self.restarts += 1
        self._workers[w] = self._start_worker(old.slots)
        held = {s: self._held.pop(s) for s in old.slots if s in self._held}
        for cmd in dict.fromkeys(c for c, _ in held.values()):
            self._call_id += 1
            items = [(s, self._slot_owner[s][1], p) for s, (c, p) in held.items() if c == cmd]
            for s, _, _ in items:
                if cmd != "reset" and s in self._lost:
                    self._done[s] = EnvFailure(s, self._lost[s])
            items = [it for it in items if it[0] not in self._done]
            if items:
                self._send_to(w, self._call_id, cmd, items)

    # ---- what a subclass provides -----------------------------------------------------------------

    def _start_worker(self, slots: list[int]) -> Any:
        """A started worker for ``slots``, with ``slots``, ``pid`` and ``kill()``."""
        raise NotImplementedError

    def _transmit(self, w: int, call_id: int, cmd: str, items: list[tuple[int, Any]]) -> None:
        """Send ``cmd`` for ``items = [(local, payload)]`` to worker ``w``; raise :class:`WorkerGone` if it has died."""
        raise NotImplementedError

    def _gather(self, timeout: float) -> list[tuple]:
        """The answers that arrive within ``timeout`` seconds (at least one unless the time runs out):
        ``("answer", worker, call_id, local, status, value)`` and ``("dead", worker, reason)`` events, where
        ``worker`` is the worker object the answer came from."""
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
        step_timeout: seconds one command (a reset, a step, a call) of one slot may take before that slot
            fails (its episode only; see the module docstring for what happens to its worker).
        start_timeout: seconds a worker may take to start and build its envs.
        start_method: the multiprocessing start method ("spawn" is safe with threads and CUDA).
        inline_ms: a slot whose last three steps (or calls) each took under this many milliseconds runs its next
            one on its worker's main thread, batched with the others (no thread hand-off), and its next reset too
            if its last reset took under ten times as long; every other command runs on its slot's own thread. 0: always the slot's thread; ``float("inf")``: every
            command on the main thread, one slot after another (the pool before it was asynchronous).
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
        inline_ms: float = 2.0,
    ):
        if _bootstrapping():
            # A worker re-running a main module that creates a pool at import: stop before it starts workers of
            # its own (or sweeps the parent's leftovers); the parent reads the exit code and explains.
            raise SystemExit(UNGUARDED_MAIN_EXIT)
        super().__init__(env, num_envs, num_workers, env_kwargs, step_timeout, start_timeout)
        self.inline_ms = float(inline_ms)
        self._poller: Any = None  # select.poll() over the workers' pipes (_ready)
        self._polled_workers: list[Any] = []
        self._polled: dict[int, Any] = {}  # fd -> worker
        self._ctx = mp.get_context(start_method)
        from densegym import leftovers

        leftovers.sweep_orphans()  # what pools of crashed runs left behind
        self._ledgers = leftovers.pool_dir()
        self._started = 0
        self._start_workers()

    def _start_worker(self, slots: list[int]) -> _Worker:
        self._started += 1
        ledger = os.path.join(self._ledgers, f"worker-{self._started}.jsonl")
        return _Worker(self._ctx, self._factory, slots, self.start_timeout, ledger, self.inline_ms)

    def _transmit(self, w: int, call_id: int, cmd: str, items: list[tuple[int, Any]]) -> None:
        try:
            _send(self._workers[w].conn, (call_id, cmd, items))
        except (OSError, ValueError):
            raise WorkerGone(self._death_reason(w)) from None

    def _ready(self, timeout: float) -> list[Any]:
        """The workers with something to read (an answer, or the end of their pipe) within ``timeout`` seconds.
        One ``select.poll`` object serves every wait until the workers change (a new selector per wait, as
        ``connection.wait`` makes, costs some 10 us: a third of a Sokoban step)."""
        workers = [worker for worker in self._workers if worker is not None]
        if not hasattr(select, "poll"):  # pragma: no cover - platforms without poll()
            by_conn = {worker.conn: worker for worker in workers}
            return [by_conn[conn] for conn in _wait(list(by_conn), timeout=timeout)]
        if self._poller is None or self._polled_workers != workers:
            self._poller, self._polled_workers = select.poll(), workers
            self._polled = {}
            for worker in workers:
                fd = worker.conn.fileno()
                self._poller.register(fd, select.POLLIN | select.POLLPRI)
                self._polled[fd] = worker
        return [self._polled[fd] for fd, _ in self._poller.poll(None if timeout is None else timeout * 1000.0)
                if fd in self._polled]

    def _gather(self, timeout: float) -> list[tuple]:
        events: list[tuple] = []
        for worker in self._ready(timeout):
            # One message a worker per call: the next wait finds the rest (a poll per message costs as much).
            conn = worker.conn
            try:
                message = _recv(conn)
            except (EOFError, OSError):
                events.append(("dead", worker, self._death_reason(self._index_of(worker))))
                continue
            except Exception as exc:  # noqa: BLE001 - a message that is not the protocol's: the worker is unsound
                events.append(("dead", worker, f"an unreadable answer ({type(exc).__name__}: {exc})"))
                continue
            if message[0] == "answers":
                events += [("answer", worker, *answer) for answer in message[1]]
        return events

    def _death_reason(self, w: int | None) -> str:
        if w is None:
            return "the worker process died"
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
