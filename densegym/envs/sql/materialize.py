"""Load a generated database ``(schema, rows, seed)`` into SQLite, DuckDB or PostgreSQL, once.

SQLite and DuckDB files go to a cache directory (``$DENSEGYM_CACHE`` or ``~/.cache/densegym/sql``), written
under a temporary name and renamed into place, so that parallel workers never see a half-written file.
PostgreSQL databases are built under a temporary name and renamed the same way; queries run as
``densegym_reader``, a role that may connect and SELECT and nothing else.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sqlite3
import tempfile
import uuid
from pathlib import Path

from densegym.envs.sql.schemas import SCHEMAS, ddl, generate_rows

GENERATOR_VERSION = 1
READER_ROLE = "densegym_reader"


def cache_dir() -> Path:
    root = os.environ.get("DENSEGYM_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "densegym")
    path = Path(root) / "sql"
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_name(schema: str, rows: int, seed: int) -> str:
    return f"densegym_{schema}_{rows}_{seed}_v{GENERATOR_VERSION}"


def _check(schema: str, rows: int, seed: int) -> None:
    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r}; known: {', '.join(SCHEMAS)}")
    if int(rows) < 20 or int(seed) < 0:
        raise ValueError(f"rows must be >= 20 and seed >= 0, got rows={rows}, seed={seed}")


def _publish(build, final: Path) -> Path:
    """Run ``build(tmp_path)`` and move the result into place atomically (the first writer wins)."""
    if final.exists():
        return final
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    try:
        build(tmp)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final


def ensure_sqlite(schema: str, rows: int, seed: int, directory: Path | None = None) -> Path:
    _check(schema, rows, seed)
    final = (directory or cache_dir()) / f"{db_name(schema, rows, seed)}.sqlite"

    def build(tmp: Path) -> None:
        spec = SCHEMAS[schema]
        con = sqlite3.connect(tmp)
        try:
            con.execute("PRAGMA foreign_keys = ON")
            for statement in ddl(spec, "sqlite"):
                con.execute(statement)
            for table, data in generate_rows(spec, rows, seed).items():
                marks = ", ".join("?" * len(spec.table(table).columns))
                con.executemany(f"INSERT INTO {table} VALUES ({marks})", data)
            con.commit()
        finally:
            con.close()

    return _publish(build, final)


def ensure_duckdb(schema: str, rows: int, seed: int, directory: Path | None = None) -> Path:
    import duckdb

    _check(schema, rows, seed)
    final = (directory or cache_dir()) / f"{db_name(schema, rows, seed)}.duckdb"

    def build(tmp: Path) -> None:
        spec = SCHEMAS[schema]
        con = duckdb.connect(str(tmp))
        try:
            for statement in ddl(spec, "duckdb"):
                con.execute(statement)
            with tempfile.TemporaryDirectory() as scratch:
                for table, data in generate_rows(spec, rows, seed).items():
                    path = os.path.join(scratch, f"{table}.csv")
                    _write_csv(path, data)
                    con.execute(f"COPY {table} FROM '{path}' (FORMAT csv, HEADER false, NULL '\\N')")
        finally:
            con.close()

    return _publish(build, final)


def _write_csv(path: str, data: list[tuple]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        for row in data:
            writer.writerow("\\N" if v is None else v for v in row)


def reader_password(admin_conninfo: str) -> str:
    """Derived from the admin conninfo, so every worker of one server agrees without sharing state."""
    return hashlib.sha256(f"densegym-reader:{admin_conninfo}".encode()).hexdigest()[:32]


def ensure_postgres(admin_conninfo: str, schema: str, rows: int, seed: int, *, temp_file_limit: str = "256MB") -> str:
    """Create (once) the database and the read-only role; return the reader's conninfo."""
    import psycopg
    from psycopg import sql as pgsql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    _check(schema, rows, seed)
    name = db_name(schema, rows, seed)
    password = reader_password(admin_conninfo)
    with psycopg.connect(admin_conninfo, autocommit=True) as admin:
        # Parallel workers provision one server: serialise them (concurrent ALTER ROLE fails with "tuple
        # concurrently updated"); the lock ends with this session.
        admin.execute("SELECT pg_advisory_lock(hashtext('densegym.envs.sql'))")
        role = pgsql.Identifier(READER_ROLE)
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,)).fetchone() is None:
            try:
                admin.execute(pgsql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
                ).format(role))
            except psycopg.errors.DuplicateObject:
                pass
        admin.execute(pgsql.SQL("ALTER ROLE {} PASSWORD {}").format(role, pgsql.Literal(password)))
        admin.execute(pgsql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
        admin.execute(pgsql.SQL("ALTER ROLE {} SET statement_timeout = '30s'").format(role))
        admin.execute(pgsql.SQL("ALTER ROLE {} SET temp_file_limit = {}").format(role, pgsql.Literal(temp_file_limit)))
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            tmp = f"{name}_tmp_{uuid.uuid4().hex[:8]}"
            admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(tmp)))
            try:
                _load_postgres(make_conninfo(admin_conninfo, dbname=tmp), schema, rows, seed, tmp)
                admin.execute(pgsql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    pgsql.Identifier(tmp), pgsql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another worker finished first
            finally:
                admin.execute(pgsql.SQL("DROP DATABASE IF EXISTS {}").format(pgsql.Identifier(tmp)))
    params = conninfo_to_dict(admin_conninfo)
    params.update(user=READER_ROLE, password=password, dbname=name)
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


def _load_postgres(conninfo: str, schema: str, rows: int, seed: int, dbname: str) -> None:
    import psycopg
    from psycopg import sql as pgsql

    spec = SCHEMAS[schema]
    role = pgsql.Identifier(READER_ROLE)
    with psycopg.connect(conninfo) as con:
        for statement in ddl(spec, "postgres"):
            con.execute(statement)
        with con.cursor() as cur:
            for table, data in generate_rows(spec, rows, seed).items():
                with cur.copy(pgsql.SQL("COPY {} FROM STDIN").format(pgsql.Identifier(table))) as copy:
                    for row in data:
                        copy.write_row(row)
        db = pgsql.Identifier(dbname)
        con.execute(pgsql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        con.execute(pgsql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, role))
        con.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        con.execute(pgsql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
        con.execute(pgsql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(role))
        con.execute("ANALYZE")
