"""Fixtures for the web env tests: the real Chromium and app server (skipped locally, a failure under CI=true,
when missing). Every test in a process shares one browser and one server per catalog (as a worker's envs do);
each env gets its own context and session."""

from __future__ import annotations

import importlib.util

import pytest

from tests.helpers import closing_maker, require

INSTALL = "apt-get install chromium (Debian) and pip install 'densegym[web]'"


def web_extra_available() -> bool:
    try:
        return all(importlib.util.find_spec(m) for m in ("playwright", "starlette", "uvicorn"))
    except (ImportError, ValueError):
        return False


def need_web_extra() -> None:
    """At the top of a test module that imports densegym.envs.web: skipped without the extra (a failure under
    CI=true), instead of an ImportError at collection."""
    require(web_extra_available(), "the web extra (Playwright, Starlette, uvicorn)", "pip install 'densegym[web]'")


def web_available() -> bool:
    if not web_extra_available():
        return False
    from densegym.envs.web.browser import chromium_path

    return chromium_path() is not None


@pytest.fixture(scope="session")
def need_browser():
    require(web_available(), "Chromium with Playwright, Starlette and uvicorn", INSTALL)
    yield
    from densegym.envs.web import close_shared

    close_shared()


@pytest.fixture
def make_env(need_browser):
    """``make_env(forms=False, **kwargs)``: a WebShopEnv (a WebFormsEnv with ``forms=True``), closed after the
    test."""
    from densegym.envs.web import WebFormsEnv, WebShopEnv

    yield from closing_maker(lambda forms=False, **kwargs: WebFormsEnv(**kwargs) if forms else WebShopEnv(**kwargs))


@pytest.fixture
def lab_env(make_env):
    """A WebShopEnv whose app also serves the lab pages (``/lab/...``), with short time limits, after a reset."""
    env = make_env(lab=True, action_timeout_s=2.0, step_timeout_s=4.0)
    env.reset(seed=0)
    return env
