"""Test helpers shared by the env families."""

from __future__ import annotations

import importlib
import os

import pytest


def require(available: bool, component: str, install: str) -> None:
    """Skip (on a user's machine) or fail (in CI) when a real component a test needs is missing.

    In CI (``CI=true``) nothing may be silently skipped: a missing language server, database, browser
    or Docker is a failure of the set-up, not a reason to pass.
    """
    if available:
        return
    message = f"{component} is not available; install it with: {install}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_import(module: str, install: str) -> None:
    """:func:`require` for a Python package; usable at module level (unlike ``pytest.importorskip``, it fails
    under ``CI=true`` instead of skipping)."""
    try:
        importlib.import_module(module)
    except ImportError:
        require(False, f"the Python package {module}", install)


def closing_maker(build):
    """A fixture body: yields ``make(*args, **kwargs) -> build(*args, **kwargs)`` and closes every env it made
    at teardown (``yield from closing_maker(...)`` in a fixture)."""
    made = []

    def make(*args, **kwargs):
        env = build(*args, **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
