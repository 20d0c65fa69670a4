"""What a worker process shares: resources created once per process, and the library's named, bounded caches.

**Shared resources.** An env asks its process for a resource by key::

    from densegym import resources

    index = resources.shared(("search.index", path), lambda: load_index(path))   # once per worker
    browser = resources.shared("web.browser", launch_browser)                      # a fresh context per episode

The factory runs on first use only (two threads asking at once get the same object, and the factory runs
once); every later caller in the process gets that object. A factory that raises caches nothing: the error
propagates unchanged and the next call tries again. At process exit (``atexit``) every resource is closed in
reverse creation order: ``close(obj)`` if ``shared`` was given ``close=``, else ``obj.close()`` when it has one
(``close=False``: never). :func:`close_all` does the same at any time. A forked child never reuses its parent's
objects (nor closes them: a parent's browser or client is the parent's): it starts with an empty registry.
A resource started outside the process (a container, a server) is also written to the pool's ledger with
:func:`densegym.leftovers.own`, so that it is removed when the worker is killed and ``atexit`` never runs.

**Named caches.** Every process-wide cache of the library is registered here by name with its bound:
:func:`cache` makes a thread-safe LRU mapping, :func:`cached` is ``functools.lru_cache`` registered by name,
and :func:`register_cache` names a cache a module keeps itself (a plain dict on a hot path). A module's
caches register when it is imported. :func:`cache_sizes` reports ``name -> (size, maxsize)`` and
:func:`clear_caches` (also ``densegym.clear_caches()``) empties them all; nothing else changes, so the next
call just recomputes.

This module imports only the standard library.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading
import warnings
from collections import OrderedDict
from typing import Any, Callable, Hashable, NamedTuple, TypeVar

__all__ = [
    "CacheSize",
    "LRUCache",
    "cache",
    "cache_sizes",
    "cached",
    "clear_caches",
    "close",
    "close_all",
    "get_cache",
    "register_cache",
    "shared",
    "shared_keys",
]

T = TypeVar("T")
_MISSING = object()

# ---- shared resources -----------------------------------------------------------------------------------


class _Entry:
    __slots__ = ("value", "close")

    def __init__(self, value: Any, close: Callable[[Any], Any] | None | bool):
        self.value = value
        self.close = close


_lock = threading.Lock()  # guards the three below; never held while a factory or a close runs
_entries: dict[Hashable, _Entry] = {}  # insertion order is creation order
_key_locks: dict[Hashable, threading.RLock] = {}
_creating = threading.local()  # keys whose factory this thread is running (a factory asking for itself)
_pid = os.getpid()
_inherited: list[Any] = []  # a forked child's copies of its parent's objects: kept, never used or closed
_exit_hook_pid = 0  # the process whose multiprocessing exit runs close_all (see _ensure_exit_hook)


def _after_fork() -> None:
    """A fresh, empty registry in a forked child (with fresh locks: another thread may have held them)."""
    global _lock, _entries, _key_locks, _creating, _pid
    if _entries:
        # Dropping them would let finalizers run here (a client's __del__ closing the parent's browser).
        _inherited.append(list(e.value for e in _entries.values()))
    _lock = threading.Lock()
    _entries = {}
    _key_locks = {}
    _creating = threading.local()
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


def shared(key: Hashable, factory: Callable[[], T], *, close: Callable[[T], Any] | None | bool = None) -> T:
    """The process's resource ``key``, made by ``factory()`` on first use.

    ``close``: how the resource is closed at process exit or by :func:`close_all` (``None``: its ``close()``
    method if it has one; ``False``: never). The first caller's ``factory`` and ``close`` are the ones used."""
    if _pid != os.getpid():  # a fork that bypassed os.register_at_fork
        _after_fork()
    entry = _entries.get(key)
    if entry is not None:
        return entry.value
    with _lock:
        key_lock = _key_locks.get(key)
        if key_lock is None:
            key_lock = _key_locks[key] = threading.RLock()
    with key_lock:  # one factory per key at a time; other keys are not held up
        entry = _entries.get(key)
        if entry is not None:
            return entry.value
        creating = _creating.__dict__.setdefault("keys", set())
        if key in creating:
            raise RuntimeError(f"the factory of shared resource {key!r} asks for {key!r} itself")
        creating.add(key)
        try:
            value = factory()  # raises: nothing is stored, and the next caller tries again
        finally:
            creating.discard(key)
        with _lock:
            _entries[key] = _Entry(value, close)
        _ensure_exit_hook()
        return value


def _ensure_exit_hook() -> None:
    """Close at exit in a multiprocessing child too. A child started by fork leaves through ``os._exit`` and
    never runs atexit, but it runs multiprocessing's exit finalizers first (spawn children run both; the
    second close_all finds nothing). Registered per process, once it holds a resource: a fork drops the
    parent's finalizers."""
    global _exit_hook_pid
    util = sys.modules.get("multiprocessing.util")  # loaded in every multiprocessing child; never imported here
    if util is None or _exit_hook_pid == _pid:
        return
    _exit_hook_pid = _pid
    util.Finalize(None, close_all, exitpriority=0)


def _close_entry(key: Hashable, entry: _Entry) -> None:
    closer = entry.close
    try:
        if closer is None:
            method = getattr(entry.value, "close", None)
            if callable(method):
                method()
        elif closer is not False:
            closer(entry.value)
    except Exception as exc:  # one failing close must not keep the others open
        warnings.warn(f"closing shared resource {key!r} failed: {exc!r}", RuntimeWarning, stacklevel=3)


def close(key: Hashable) -> bool:
    """Close and forget resource ``key`` (the next ``shared(key, ...)`` makes a new one). False if absent."""
    with _lock:
        entry = _entries.pop(key, None)
    if entry is None:
        return False
    _close_entry(key, entry)
    return True


def close_all() -> None:
    """Close every resource of this process, newest first, and forget them. A close that raises is reported
    as a ``RuntimeWarning`` and the others still close. Runs at process exit."""
    if _pid != os.getpid():
        _after_fork()
        return
    while True:
        with _lock:
            if not _entries:
                return
            key = next(reversed(_entries))
            entry = _entries.pop(key)
        _close_entry(key, entry)


def shared_keys() -> list[Hashable]:
    """The keys of this process's resources, in creation order."""
    if _pid != os.getpid():
        _after_fork()
    with _lock:
        return list(_entries)


atexit.register(close_all)

# ---- named caches ---------------------------------------------------------------------------------------


class CacheSize(NamedTuple):
    size: int
    maxsize: int | None  # None: unbounded (only for caches whose keys are few by construction)


class LRUCache:
    """A thread-safe mapping that keeps at most ``maxsize`` entries, dropping the least recently used."""

    __slots__ = ("name", "maxsize", "_data", "_lock")

    def __init__(self, name: str, maxsize: int):
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.name = name
        self.maxsize = int(maxsize)
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def pop(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return self._data.pop(key, default)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"LRUCache({self.name!r}, {len(self._data)}/{self.maxsize})"


class _Registered:
    """How to size and clear one named cache: an LRUCache, a dict, an lru_cache function, or a lazy
    ``"module:attribute"`` resolved only once that module has been imported (never imported from here)."""

    __slots__ = ("target", "maxsize")

    def __init__(self, target: Any, maxsize: int | None):
        self.target = target
        self.maxsize = maxsize

    def resolve(self) -> Any:
        target = self.target
        if isinstance(target, str):
            module_name, _, attr = target.partition(":")
            module = sys.modules.get(module_name)
            return getattr(module, attr, None) if module is not None else None
        return target

    def size(self) -> CacheSize:
        target = self.resolve()
        if target is None:
            return CacheSize(0, self.maxsize)
        info = getattr(target, "cache_info", None)
        if info is None:
            return CacheSize(len(target), self.maxsize)
        return CacheSize(info().currsize, target.cache_parameters()["maxsize"])  # the bound it really has

    def clear(self) -> None:
        target = self.resolve()
        if target is None:
            return
        clear = getattr(target, "cache_clear", None) or target.clear
        clear()


_caches: dict[str, _Registered] = {}
_caches_lock = threading.Lock()


def register_cache(name: str, target: Any, maxsize: int | None) -> Any:
    """Name a cache that a module keeps itself: a dict (its owner keeps it within ``maxsize``), an
    ``lru_cache``-wrapped function, anything with ``clear()`` and ``len()``, or ``"module:attribute"`` for
    one of those in a module not imported yet. Returns ``target``. Registering a name again replaces it
    (a module reloaded)."""
    if not isinstance(target, str) and not (
        hasattr(target, "cache_clear") or (hasattr(target, "clear") and hasattr(target, "__len__"))
    ):
        raise TypeError(f"cache {name!r}: {target!r} has neither cache_clear() nor clear() and len()")
    with _caches_lock:
        _caches[name] = _Registered(target, maxsize)
    return target


def cache(name: str, maxsize: int) -> LRUCache:
    """The named LRU cache ``name`` (made and registered on first call; the same object afterwards)."""
    with _caches_lock:
        entry = _caches.get(name)
        if entry is not None and isinstance(entry.target, LRUCache):
            return entry.target
        lru = LRUCache(name, maxsize)
        _caches[name] = _Registered(lru, maxsize)
        return lru


def cached(name: str, maxsize: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """``functools.lru_cache(maxsize)``, registered as cache ``name``: as fast as the plain decorator."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        wrapped = functools.lru_cache(maxsize=maxsize)(fn)
        register_cache(name, wrapped, maxsize)
        return wrapped

    return decorate


def get_cache(name: str) -> Any:
    """The object registered as cache ``name`` (None for a lazy one whose module is not imported yet)."""
    with _caches_lock:
        entry = _caches.get(name)
    if entry is None:
        raise KeyError(f"no cache named {name!r}; known: {', '.join(sorted(_caches))}")
    return entry.resolve()


def cache_sizes() -> dict[str, CacheSize]:
    """``name -> CacheSize(size, maxsize)`` of every registered cache, sorted by name."""
    with _caches_lock:
        items = sorted(_caches.items())
    return {name: entry.size() for name, entry in items}


def clear_caches() -> None:
    """Empty every registered cache of this process (shared resources are left alone: see close_all)."""
    with _caches_lock:
        entries = list(_caches.values())
    for entry in entries:
        entry.clear()


# Caches kept by modules that do not register themselves yet, named here and resolved lazily (never imported
# from here). Their owners may replace these lines with resources.cached(...) at the definition.
register_cache("lsp.tasks", "densegym.envs.lsp.tasks.generator:generate", 1024)  # generated tasks by id
register_cache("lsp.catalog", "densegym.envs.lsp.tasks.generator:catalog", 1)  # the bundled task ids
register_cache("lsp.server_versions", "densegym.envs.lsp.servers:server_version", None)  # one per server name
register_cache("models.tiny_vocab", "densegym.models.tiny:_trained_vocab", 4)  # the tiny model's BPE
