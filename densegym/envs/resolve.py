"""One env resolution for every entry point: the command line (play, rollout, eval, demo) and the trainer.

An env spec is one of::

    densegym/Sokoban-v0             a registered id
    mymodule:ns/MyEnv-v0            import ``mymodule`` (which registers the id with Gymnasium), then the id
    mymodule:MyEnvClass             import ``mymodule`` and construct ``MyEnvClass(**kwargs)`` (any callable
                                    that returns an env works too)
    path/to/my_env.py:...           the same, with the module loaded from a file

and ``imports`` (``--import MODULE`` on the command line, repeatable) names modules, or ``.py`` files, to import
before the spec is looked up, so that ``--import mymodule ns/MyEnv-v0`` works too. When a module is not found
on ``sys.path`` the current directory is tried, as ``python -m`` would.

:func:`resolve_env` checks everything it can before a worker starts: the modules import, the id is registered
(otherwise the message lists the known ids and, for an id outside the ``densegym/`` namespace, says how to import
the module that registers it), and every env kwarg is a parameter of the env's constructor (otherwise the valid
ones are listed). The :class:`ResolvedEnv` it returns builds the env in this process (:meth:`~ResolvedEnv.make`)
or says what an :class:`~densegym.envpool.EnvPool` needs (:meth:`~ResolvedEnv.pool_source`): the id itself for
the ids ``import densegym`` registers, otherwise an :class:`EnvFactory`, picklable, which redoes the imports in the
worker process (spawned workers start from a fresh interpreter) before it builds the env.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

import densegym  # noqa: F401 - registers the densegym ids
from densegym.envs.registration import ENVS

# What `import densegym` registered (densegym's ids and Gymnasium's own): these need no import in a worker.
_BASE_IDS = frozenset(gym.registry)
# gym.make's own keyword arguments (not the env's)
_MAKE_KWARGS = frozenset({"max_episode_steps", "disable_env_checker"})
# Modules (or files) given to import_modules() in this process (``--import`` before a config is read), in order:
# an env resolved later in the process has its workers import them too.
_SESSION_IMPORTS: list[str] = []
_FOUND_IN: dict[str, str] = {}  # a module found only in the current directory -> that directory


class EnvSpecError(ValueError):
    """An env spec that cannot be resolved: an unknown id, a module that does not import, a bad kwarg."""


def _add_path(path: str) -> None:
    if path not in sys.path:
        sys.path.append(path)


def _import_file(path: str) -> Any:
    """Load ``path`` (a .py file) as the module named by its stem, once."""
    path = os.path.abspath(path)
    name = os.path.splitext(os.path.basename(path))[0]
    known = sys.modules.get(name)
    if known is not None:
        where = getattr(known, "__file__", None)
        if where and os.path.abspath(where) == path:
            return known
        raise EnvSpecError(f"{path}: a module named {name!r} is already imported (from {where or 'built-in'}); "
                           "rename the file")
    if not os.path.isfile(path):
        raise EnvSpecError(f"no such file: {path}")
    _add_path(os.path.dirname(path))  # so that it can import its neighbours, and a string entry point finds it
    return exec_module_file(name, path)


def exec_module_file(name: str, path: str | os.PathLike) -> Any:
    """Run the file ``path`` as the module ``name`` (in ``sys.modules`` while it runs, so that it can refer to
    itself, and removed again if it raises)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def import_module(name: str) -> Any:
    """Import a module by name (trying the current directory when ``sys.path`` lacks it) or a ``.py`` file.

    Raises :class:`EnvSpecError` with one line when it is not found or its import fails.
    """
    try:
        if name.endswith(".py"):
            module = _import_file(name)
        else:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                top = name.split(".")[0]
                cwd = os.getcwd()
                here = os.path.exists(os.path.join(cwd, top + ".py")) or os.path.isdir(os.path.join(cwd, top))
                if exc.name != top or cwd in sys.path or "" in sys.path or not here:
                    raise
                _add_path(cwd)  # the module is in the current directory (the console script does not look there)
                module = importlib.import_module(name)
                _FOUND_IN[name] = cwd
    except EnvSpecError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):  # the module itself, not one it imports
            raise EnvSpecError(
                f"cannot import {name!r}: no module named {exc.name!r} (put its directory on PYTHONPATH, "
                "or give the .py file's path)"
            ) from None
        raise EnvSpecError(f"importing {name!r} failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # its own code raised: one line, with what it was
        raise EnvSpecError(f"importing {name!r} failed: {type(exc).__name__}: {exc}") from None
    return module


def _import_key(name: str) -> str:
    return os.path.abspath(name) if name.endswith(".py") else name


def import_modules(names: Sequence[str]) -> None:
    """Import every module (or .py file) of ``names``, in order (``--import`` of ``densegym train``, before its
    config names the env); every env resolved later in this process has its workers import them too."""
    for name in names:
        import_module(name)
        if _import_key(name) not in _SESSION_IMPORTS:
            _SESSION_IMPORTS.append(_import_key(name))


def _import_all(imports: Sequence[str], paths: Sequence[str]) -> None:
    for path in paths:
        if path not in sys.path:
            sys.path.append(path)
    for name in imports:
        if name.endswith(".py"):
            _import_file(name)
        else:
            importlib.import_module(name)


class EnvFactory:
    """A picklable zero-argument env factory: imports ``imports`` (module names, or .py paths) and then builds
    ``target`` (a registered id, or ``"module:Class"``) with ``kwargs``. It is what an EnvPool worker, a fresh
    interpreter, runs to build its envs."""

    def __init__(self, target: str, kwargs: dict[str, Any] | None = None, imports: Sequence[str] = (),
                 paths: Sequence[str] = (), *, is_class: bool = False):
        self.target = target
        self.kwargs = dict(kwargs or {})
        self.imports = tuple(imports)
        self.paths = tuple(paths)
        self.is_class = is_class
        self.__name__ = target  # EnvPool names its env by it

    def __call__(self) -> gym.Env:
        _import_all(self.imports, self.paths)
        if self.is_class:
            module, _, name = self.target.rpartition(":")
            mod = _import_file(module) if module.endswith(".py") else importlib.import_module(module)
            return getattr(mod, name)(**self.kwargs)
        return gym.make(self.target, **self.kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnvFactory) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"EnvFactory({self.target!r}, {self.kwargs!r}, imports={self.imports!r})"


@dataclass
class ResolvedEnv:
    """An env spec, resolved: ``id`` (a registered id) or ``entry`` (``"module:Class"``), with its kwargs."""

    spec: str
    id: str | None = None
    entry: str | None = None
    constructor: Any = None  # the class (or callable) that builds the env, when it was looked up
    kwargs: dict[str, Any] = field(default_factory=dict)
    imports: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The name recorded in trajectories: the id, or the spec as written for a class."""
        return self.id if self.id is not None else self.spec

    @property
    def needs_imports(self) -> bool:
        return self.id is None or self.id not in _BASE_IDS

    def make(self) -> gym.Env:
        """Build the env in this process."""
        if self.id is None:
            return self.constructor(**self.kwargs)
        return gym.make(self.id, **self.kwargs)

    def factory(self) -> EnvFactory:
        if self.id is None:
            return EnvFactory(self.entry, self.kwargs, self.imports, self.paths, is_class=True)
        return EnvFactory(self.id, self.kwargs, self.imports, self.paths)

    def pool_source(self) -> tuple[Any, dict[str, Any] | None]:
        """``(env, env_kwargs)`` for :class:`~densegym.envpool.EnvPool`: the id with its kwargs for an id that
        ``import densegym`` registers (every worker imports densegym), otherwise a picklable factory."""
        if not self.needs_imports:
            return self.id, dict(self.kwargs)
        return self.factory(), None


def known_ids() -> list[str]:
    """densegym's ids, then the ids registered since (by the modules imported for env resolution)."""
    ours = [e.id for e in ENVS]
    return ours + sorted(i for i in gym.registry if i not in _BASE_IDS and i not in ours)


def _unknown_id(env_id: str, module: str | None = None) -> EnvSpecError:
    known = known_ids()
    message = f"unknown env id {env_id!r}"
    if module is not None:
        message += f" (importing {module!r} did not register it, and it has no attribute of that name)"
    close = difflib.get_close_matches(env_id, known, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    message += f"; known ids: {', '.join(known)}"
    namespace = env_id.partition("/")[0] if "/" in env_id else None
    if module is None and namespace != "densegym":
        message += (f". If a module of yours registers it, write MODULE:{env_id} or pass --import MODULE "
                    "(a module name or a .py file)")
    return EnvSpecError(message)


def _forwards(init: Any, var_keyword: str) -> bool:
    """Whether ``init`` passes its ``**var_keyword`` on to ``super().__init__`` (read from its source)."""
    try:
        source = inspect.getsource(init)
    except (OSError, TypeError):
        return False
    return re.search(r"super\(\)\.__init__\([^()]*(\([^()]*\)[^()]*)*\*\*" + re.escape(var_keyword) + r"\b",
                     source) is not None


def _init_params(target: Any) -> tuple[list[str], bool]:
    """The keyword names ``target(...)`` accepts and whether that list is complete. A class's ``**kwargs`` that
    its ``__init__`` hands to ``super().__init__`` is followed into the base class; any other ``**kwargs`` leaves
    the list incomplete (then nothing can be said)."""
    names: list[str] = []
    if inspect.isclass(target):
        inits = [c.__dict__["__init__"] for c in target.__mro__ if "__init__" in c.__dict__ and c is not object]
    else:
        inits = [target]
    for init in inits:
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return names, False
        var_keyword = None
        for p in params:
            if p.kind is p.VAR_KEYWORD:
                var_keyword = p.name
            elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self" and p.name not in names:
                names.append(p.name)
        if var_keyword is None:
            return names, True
        if not inspect.isclass(target) or not _forwards(init, var_keyword):
            return names, False
    return names, False


def check_kwargs(constructor: Any, kwargs: dict[str, Any], what: str, extra: frozenset[str] = frozenset()) -> None:
    """Raise :class:`EnvSpecError` naming the valid ones when a kwarg is not a parameter of ``constructor``."""
    if not kwargs or constructor is None:
        return
    names, complete = _init_params(constructor)
    if not complete:
        return
    valid = sorted(set(names) | extra)
    for key in kwargs:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise EnvSpecError(
                f"env kwarg {key!r} is not accepted by {what}{hint}; valid kwargs: {', '.join(valid)}"
            )


def _entry_constructor(env_id: str) -> Any:
    """The class (or callable) a registered id builds, imported; ``None`` when it cannot be found."""
    entry = gym.spec(env_id).entry_point
    if callable(entry):
        return entry
    if not isinstance(entry, str) or ":" not in entry:
        return None
    module, _, name = entry.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:  # a family whose extra is missing: its message
        raise EnvSpecError(f"{env_id}: {exc}") from None
    except AttributeError:
        return None


def resolve_env(spec: str, kwargs: dict[str, Any] | None = None, imports: Sequence[str] = ()) -> ResolvedEnv:
    """Resolve ``spec`` (see the module docstring) after importing ``imports``; check ``kwargs`` against the
    env's constructor. Raises :class:`EnvSpecError` (a ``ValueError``) with a one-line message."""
    if not isinstance(spec, str) or not spec.strip():
        raise EnvSpecError(f"an env spec is a non-empty string, got {spec!r}")
    kwargs = dict(kwargs or {})
    for item in imports:
        import_module(item)
    module_name, sep, name = spec.partition(":")
    module = None
    if sep:
        if not module_name or not name:
            raise EnvSpecError(f"env spec {spec!r}: write MODULE:ID or MODULE:CLASS")
        module = import_module(module_name)
        imports = [*imports, module_name]
    elif spec.endswith(".py"):
        raise EnvSpecError(f"env spec {spec!r}: a file needs the id or class after it: {spec}:ID or {spec}:CLASS")
    else:
        name = spec

    def done(resolved: ResolvedEnv) -> ResolvedEnv:
        if resolved.needs_imports:  # what a worker imports first: the session's --import, then this spec's
            keys = dict.fromkeys([*_SESSION_IMPORTS, *(_import_key(i) for i in imports)])
            keys.pop("densegym", None)  # every worker imports it anyway
            resolved.imports = tuple(keys)
            resolved.paths = tuple(dict.fromkeys(_FOUND_IN[k] for k in keys if k in _FOUND_IN))
        return resolved

    if name in gym.registry:
        constructor = _entry_constructor(name) if kwargs else None
        check_kwargs(constructor, kwargs, f"{name} ({getattr(constructor, '__name__', constructor)})", _MAKE_KWARGS)
        return done(ResolvedEnv(spec, id=name, constructor=constructor, kwargs=kwargs))
    attr = getattr(module, name, None) if module is not None and name.isidentifier() else None
    if attr is not None and callable(attr):
        check_kwargs(attr, kwargs, f"{spec}")
        return done(ResolvedEnv(spec, entry=f"{_import_key(module_name)}:{name}", constructor=attr, kwargs=kwargs))
    if module is not None and attr is not None:
        raise EnvSpecError(f"env spec {spec!r}: {name!r} in {module_name!r} is neither a class nor a registered id")
    raise _unknown_id(name, module_name if module is not None else None)


def pool_source(spec: str, kwargs: dict[str, Any] | None = None, imports: Sequence[str] = ()) -> tuple[Any, Any]:
    """``resolve_env(spec, kwargs, imports).pool_source()``: what :class:`~densegym.envpool.EnvPool` takes."""
    return resolve_env(spec, kwargs, imports).pool_source()
