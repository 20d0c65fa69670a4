"""Fixtures for the SQL env tests: a private PostgreSQL cluster, and small databases in a temp cache.

The cluster is a real PostgreSQL server started with ``initdb`` / ``pg_ctl`` in a temp dir, listening on a
unix socket only (``listen_addresses=''``), run as the ``postgres`` user when the tests run as root (CI),
and stopped at teardown.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from tests.helpers import require

PG_INSTALL = "apt-get install postgresql (Debian) and pip install 'densegym[sql]'"


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="session")
def sql_cache(tmp_path_factory):
    """A fresh cache for generated databases, so that the tests build them from scratch."""
    return tmp_path_factory.mktemp("sql-cache")


@pytest.fixture(scope="session")
def pg_admin():
    """The admin conninfo of a private PostgreSQL cluster (skipped locally, a failure in CI, when missing)."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        psycopg = None
    require(bool(initdb and pg_ctl) and psycopg is not None, "PostgreSQL (initdb, pg_ctl, psycopg)", PG_INSTALL)
    as_root = os.geteuid() == 0
    if as_root:
        runuser = shutil.which("runuser")
        require(runuser is not None, "runuser (to run PostgreSQL as the postgres user)", "apt-get install util-linux")
        prefix = [runuser, "-u", "postgres", "--"]
    else:
        prefix = []
    base = tempfile.mkdtemp(prefix="densegym-pg-")
    data, sock = os.path.join(base, "data"), os.path.join(base, "sock")
    os.makedirs(sock)
    if as_root:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    user = "postgres"
    subprocess.run(prefix + [initdb, "-D", data, "-U", user, "-A", "trust", "-E", "UTF8", "--no-locale"],
                   check=True, capture_output=True)
    options = f"-c listen_addresses='' -k {sock} -p 54329 -c fsync=off"
    log = os.path.join(base, "log")
    subprocess.run(prefix + [pg_ctl, "-D", data, "-o", options, "-l", log, "-w", "start"], check=True,
                   capture_output=True)
    try:
        yield f"host={sock} port=54329 user={user} dbname=postgres"
    finally:
        subprocess.run(prefix + [pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


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
