"""Test helpers shared by the env families."""

from __future__ import annotations

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
    pytest.skip(message)
