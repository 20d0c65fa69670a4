"""Where an SWE episode's commands run: a Docker container per episode, or the local bubblewrap executor.

Both give the env an :class:`~densegym.sandbox.protocol.Executor` over the task's repository; the env never
knows which. The Docker runtime builds one image per repository (the project's clean files in ``/repo``) and
keeps a warm pool of started containers per image, so a reset loads the task's files into a running container
(one archive upload) instead of paying a cold start. A SWE-bench task brings its own image: the repository is
copied from the image (``/testbed``) into the workspace at reset, and its pristine tests come from there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import queue
import threading
from collections import OrderedDict
from typing import Any

from densegym import resources
from densegym.envs.swe.patches import PatchError, apply_patch
from densegym.envs.swe.task import SWETask, is_test_path, project_files
from densegym.sandbox import Limits, LocalExecutor, Workspace


class RuntimeFailure(RuntimeError):
    """The sandbox failed (the Docker daemon went away, a container died): not the agent's doing."""


class EpisodeExecutor:
    """An executor for one episode, with the task as the runtime resolved it (``task``)."""

    def __init__(self, executor: Any, task: SWETask):
        self._executor, self.task = executor, task

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._executor, name)
        return functools.partial(_guard, attr) if callable(attr) else attr

    def close(self, *, later: bool = False) -> None:
        """Remove what the episode used; ``later``: on a background thread (between episodes)."""
        if later:
            _reaper().close_later(self._executor)
            return
        with contextlib.suppress(Exception):  # best effort: the leftovers ledger sweeps what remains
            self._executor.close()


def _guard(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except RuntimeFailure:
        raise
    except Exception as exc:
        if _is_infrastructure(exc):
            raise RuntimeFailure(f"{type(exc).__name__}: {exc}") from exc
        raise


def _is_infrastructure(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        return False  # the agent named a file that is not there: its mistake, reported to it
    if module.startswith("densegym.sandbox.docker") and isinstance(exc, RuntimeError):
        return True  # the daemon, the image, a container or its file helper failed
    return module.startswith(("docker", "requests", "urllib3")) or isinstance(exc, OSError)


class LocalRuntime:
    """The task's files in a host temp directory; commands under bubblewrap (read-only host, no network)."""

    name = "local"

    def __init__(self, *, unsafe_local: bool, limits: Limits):
        self.template = LocalExecutor(unsafe_local=unsafe_local, limits=limits)

    def open(self, task: SWETask) -> EpisodeExecutor:
        if task.image is not None:
            raise ValueError(f"task {task.task_id} runs in its image {task.image!r}: use executor='docker'")
        return EpisodeExecutor(self.template.with_workspace(Workspace(task.files, max_file_bytes=4 << 20)), task)

    def trusts_conftest(self, task: SWETask) -> bool:
        return False


class DockerRuntime:
    """A container per episode from the repository's image, taken from this process's warm pool for it."""

    name = "docker"

    def __init__(self, *, warm_pool: int, memory: str | int, cpus: float, limits: Limits):
        from densegym.sandbox import docker as sandbox_docker

        self._docker = sandbox_docker
        self.settings = sandbox_docker.ContainerSettings(memory_bytes=_bytes(memory), cpus=float(cpus))
        self.warm_pool, self.limits = int(warm_pool), limits
        # A clear error now (no package, no daemon, no sandbox image), not at the first reset.
        sandbox_docker._require_image(sandbox_docker.client().api, sandbox_docker.DEFAULT_IMAGE)

    def image(self, task: SWETask) -> str:
        """The task's image: its own (SWE-bench), or its repository's, built once (content-addressed)."""
        return task.image or _guard(self._docker.ensure_project_image, task.project, project_files(task.project))

    def pool(self, image: str):
        """This process's warm pool of started containers of ``image``."""
        return self._docker.ContainerPool.shared(image, size=self.warm_pool, settings=self.settings)

    def open(self, task: SWETask) -> EpisodeExecutor:
        image = self.image(task)
        if task.image is None and self.warm_pool > 0:
            preloaded = _task_pools().get(image, task, self.warm_pool, self.settings)
            if preloaded is not None and preloaded.idle > 0:  # a container holding this task's repository
                executor = _guard(preloaded.acquire, self.limits, max_file_bytes=4 << 20)
                _guard(executor.restore, task.files)  # a no-op on an untouched preloaded workspace
                return EpisodeExecutor(executor, task)
        executor = _guard(self.pool(image).acquire, self.limits, max_file_bytes=4 << 20)
        if task.image is None:
            _guard(executor.restore, task.files)
            return EpisodeExecutor(executor, task)
        return EpisodeExecutor(executor, self._load_from_image(executor, task))

    def _load_from_image(self, executor: Any, task: SWETask) -> SWETask:
        """A SWE-bench task: the repository from the image, its pristine tests with the test patch applied."""
        result = executor.run(["cp", "-a", f"{task.image_root}/.", "."], limits=Limits(timeout_s=300))
        if not result.ok:
            raise RuntimeFailure(f"copying {task.image_root} out of {task.image} failed: {result.output[-500:]}")
        files = executor.snapshot()
        tests = {p: t for p, t in files.items() if is_test_path(p)}
        try:
            pristine = apply_patch(tests, task.meta.get("test_patch", ""))
        except PatchError as exc:
            raise ValueError(f"task {task.task_id}: its test_patch does not apply to {task.image}: {exc}") from None
        return dataclasses.replace(task, files=files, pristine=pristine)

    def trusts_conftest(self, task: SWETask) -> bool:
        return task.image is not None  # a SWE-bench repository's own conftest files (pristine) set its tests up


class _Reaper:
    """Removes what an episode leaves (its container, an evicted pool) on a background thread, so that a
    reset does not wait for ``docker rm``. At process exit (``resources``) it finishes the queue first."""

    def __init__(self):
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="densegym-swe-reaper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            thing = self._queue.get()
            if thing is None:
                return
            with contextlib.suppress(Exception):  # best effort: the leftovers ledger sweeps what remains
                thing.close()

    def close_later(self, thing: Any) -> None:
        self._queue.put(thing)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=120)


def _reaper() -> _Reaper:
    return resources.shared("swe.reaper", _Reaper)


class _TaskPools:
    """Warm pools whose idle containers already hold one task's repository, for the few tasks a process plays
    again and again: GRPO-style training resets the same task once per group member, and those resets take a
    container with nothing left to load. A pool is made when a task comes back (its second reset), never for a
    task seen once, so a stream of distinct tasks starts no extra containers. Least recently used pools are
    closed (in the background)."""

    def __init__(self, capacity: int = 2):
        self.capacity = capacity
        self._pools: OrderedDict[tuple, Any] = OrderedDict()
        self._seen: OrderedDict[tuple, None] = OrderedDict()  # tasks reset once, most recent last
        self._lock = threading.Lock()

    def get(self, image: str, task: SWETask, size: int, settings: Any):
        """The task's pool, made on its second reset; ``None`` before that."""
        from densegym.sandbox.docker import ContainerPool

        key = (image, task.task_id, size, settings)
        with self._lock:
            pool = self._pools.pop(key, None)
            if pool is None and key not in self._seen:
                self._seen[key] = None
                while len(self._seen) > 64:
                    self._seen.popitem(last=False)
                return None
            if pool is None:
                pool = ContainerPool(image, size, settings, files=task.files)
            self._pools[key] = pool
            evicted = [self._pools.popitem(last=False)[1] for _ in range(len(self._pools) - self.capacity)]
        for old in evicted:
            _reaper().close_later(old)
        return pool

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.close()


def _task_pools() -> _TaskPools:
    return resources.shared("swe.task_pools", _TaskPools)


def _bytes(size: str | int) -> int:
    """``"1g"``, ``"512m"``, ``"64k"`` or a number of bytes."""
    if isinstance(size, int):
        return size
    text = str(size).strip().lower()
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:], 1)
    try:
        return int(float(text.rstrip("kmg")) * scale)
    except ValueError:
        raise ValueError(f"a memory size is a number of bytes or like '1g' / '512m', got {size!r}") from None


def open_runtime(kind: str, *, unsafe_local: bool, warm_pool: int, memory: str, cpus: float, limits: Limits):
    """The runtime for ``executor=kind``: ``"docker"``, ``"local"``, or ``"auto"`` (Docker when it works)."""
    if kind not in ("auto", "docker", "local"):
        raise ValueError(f"executor must be 'auto', 'docker' or 'local', got {kind!r}")
    if kind == "auto":
        from densegym.sandbox import docker_available

        kind = "docker" if docker_available() else "local"
    if kind == "docker":
        return DockerRuntime(warm_pool=warm_pool, memory=memory, cpus=cpus, limits=limits)
    return LocalRuntime(unsafe_local=unsafe_local, limits=limits)
