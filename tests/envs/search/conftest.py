"""Fixtures of the search tests: small generated worlds with a real bm25s index, in a temp cache."""

from __future__ import annotations

import pytest

from tests.helpers import closing_maker, require_import

require_import("bm25s", "pip install 'densegym[search]'")

SMALL_DOCS = 3000  # a world with ~1,700 people, ~430 organisations and ~500 events builds and indexes in ~1 s


@pytest.fixture(scope="session")
def search_cache(tmp_path_factory):
    """A fresh cache for corpora and indexes, so that the tests build them from scratch."""
    return tmp_path_factory.mktemp("search-cache")


@pytest.fixture
def make_env(search_cache):
    """``make_env(**kwargs)``: a SearchQAEnv over the small world (closed at teardown)."""
    from densegym.envs.search import SearchQAEnv

    def build(**kwargs):
        kwargs.setdefault("num_docs", SMALL_DOCS)
        kwargs.setdefault("cache_dir", search_cache)
        return SearchQAEnv(**kwargs)

    yield from closing_maker(build)


@pytest.fixture
def env(make_env):
    return make_env()
