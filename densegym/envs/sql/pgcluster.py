"""A private, throwaway PostgreSQL cluster for tests and benchmarks: ``with temporary_cluster() as dsn``.

``initdb`` + ``pg_ctl`` in a temp dir, listening on a unix socket in that dir only (``listen_addresses=''``),
trust authentication for the local socket, run as the ``postgres`` user when the caller is root (as CI
is), and stopped and deleted on exit. The returned conninfo is the cluster's admin; pass it to
``SQLEnv(backend="postgres", postgres_dsn=...)``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator


def pg_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def cluster_available() -> bool:
    if not (pg_binary("initdb") and pg_binary("pg_ctl")):
        return False
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return False
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def temporary_cluster(port: int = 54329) -> Iterator[str]:
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise FileNotFoundError("PostgreSQL's initdb/pg_ctl not found (Debian: apt-get install postgresql)")
    as_root = os.geteuid() == 0
    prefix = [shutil.which("runuser") or "runuser", "-u", "postgres", "--"] if as_root else []
    base = tempfile.mkdtemp(prefix="densegym-pg-")
    data, sock = os.path.join(base, "data"), os.path.join(base, "sock")
    os.makedirs(sock)
    if as_root:  # PostgreSQL refuses to run as root; the postgres user must own its directories
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    try:
        subprocess.run(prefix + [initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"],
                       check=True, capture_output=True)
        options = f"-c listen_addresses='' -k {sock} -p {port} -c fsync=off"
        subprocess.run(prefix + [pg_ctl, "-D", data, "-o", options, "-l", os.path.join(base, "log"), "-w", "start"],
                       check=True, capture_output=True)
        try:
            yield f"host={sock} port={port} user=postgres dbname=postgres"
        finally:
            subprocess.run(prefix + [pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
