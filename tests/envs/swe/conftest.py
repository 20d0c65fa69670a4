"""Fixtures of the SWE tests: an env on each executor (local bubblewrap and Docker), closed at teardown."""

from __future__ import annotations

import random

import pytest

from densegym.envs.swe.task import bundled_projects, bundled_task_ids
from densegym.sandbox import bubblewrap_path
from tests.helpers import closing_maker, require

EXECUTORS = ("local", "docker")
DOCKER_INSTALL = ("apt-get install docker.io; dockerd --iptables=false --ip-forward=false --bridge=none &; "
                  "bash docker/build.sh")  # fmt: skip


def require_executor(kind: str) -> None:
    if kind == "docker":
        from densegym.sandbox.docker import docker_available

        require(docker_available(), "Docker with the densegym sandbox image", DOCKER_INSTALL)
    else:
        require(bubblewrap_path() is not None, "bubblewrap", "apt-get install bubblewrap")


def sample_ids(n: int, seed: int = 0, **filters) -> list[str]:
    """``n`` bundled task ids, seeded, from different projects where possible."""
    rng = random.Random(seed)
    by_project = {p: ids for p in bundled_projects() if (ids := bundled_task_ids([p], **filters))}
    projects = sorted(by_project)
    rng.shuffle(projects)
    return [rng.choice(by_project[projects[i % len(projects)]]) for i in range(n)]


@pytest.fixture(params=EXECUTORS)
def kind(request) -> str:
    require_executor(request.param)
    return request.param


@pytest.fixture
def make_env(kind):
    from densegym.envs.swe import SWEEnv

    yield from closing_maker(lambda **kw: SWEEnv(executor=kind, **kw))
