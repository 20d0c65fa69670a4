"""Fixtures for the SQL env tests: a private PostgreSQL cluster, and small databases in a temp cache.

The cluster is a real PostgreSQL server (``densegym.envs.sql.pgcluster``): ``initdb`` / ``pg_ctl`` in a temp
dir, a unix socket only, run as the ``postgres`` user when the tests run as root (CI), stopped at teardown.
"""

from __future__ import annotations

import pytest

from tests.helpers import require

PG_INSTALL = "apt-get install postgresql (Debian) and pip install 'densegym[sql]'"


@pytest.fixture(scope="session")
def sql_cache(tmp_path_factory):
    """A fresh cache for generated databases, so that the tests build them from scratch."""
    return tmp_path_factory.mktemp("sql-cache")


@pytest.fixture(scope="session")
def pg_admin():
    """The admin conninfo of a private PostgreSQL cluster (skipped locally, a failure in CI, when missing)."""
    from densegym.envs.sql.pgcluster import cluster_available, temporary_cluster

    require(cluster_available(), "PostgreSQL (initdb, pg_ctl, runuser when root, psycopg)", PG_INSTALL)
    with temporary_cluster() as dsn:
        yield dsn


def duckdb_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def need_duckdb():
    require(duckdb_available(), "DuckDB", "pip install 'densegym[sql]'")


@pytest.fixture
def make_backend(sql_cache, request):
    """``make_backend(kind, schema="retail", rows=300)``: an open read-only backend on a generated database."""
    from densegym.envs.sql.backends import Limits, open_backend
    from densegym.envs.sql.materialize import ensure_duckdb, ensure_postgres, ensure_sqlite

    opened = []

    def make(kind: str, schema: str = "retail", rows: int = 300, seed: int = 0, time_s: float = 2.0, **limits):
        if kind == "sqlite":
            target = ensure_sqlite(schema, rows, seed, sql_cache)
        elif kind == "duckdb":
            require(duckdb_available(), "DuckDB", "pip install 'densegym[sql]'")
            target = ensure_duckdb(schema, rows, seed, sql_cache)
        else:
            admin = request.getfixturevalue("pg_admin")
            target = ensure_postgres(admin, schema, rows, seed)
        backend = open_backend(kind, target, Limits(time_s=time_s, **limits))
        opened.append(backend)
        return backend

    yield make
    for b in opened:
        b.close()
