"""Databases for the benchmarks: a fresh migrated SQLite file per run, or a PostgreSQL database created for
the benchmark and dropped after it (or COOPBOT_BENCH_DATABASE_URL, whose coopbot tables are emptied)."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table in SQLModel.metadata)
from storage import migrate
from storage.database import create_engine

PG_ENV = "COOPBOT_BENCH_DATABASE_URL"
PG_DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

_TEMPLATE: Path | None = None


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def _copy_template(directory: Path | None) -> str:
    assert _TEMPLATE is not None
    target = (directory or _TEMPLATE.parent) / f"bench-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(_TEMPLATE, target)
    return f"sqlite+aiosqlite:///{target}"


async def fresh_sqlite(directory: Path | None = None) -> str:
    """A new, migrated, empty SQLite database file (copied from a template migrated once per process).
    The files live in one temporary folder per process, removed when the process exits."""
    global _TEMPLATE
    if _TEMPLATE is None:
        folder = Path(tempfile.mkdtemp(prefix="coopbot-bench-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _TEMPLATE = folder / "template.db"
        await _migrate(f"sqlite+aiosqlite:///{_TEMPLATE}")
    return _copy_template(directory)


def remove_sqlite(url: str) -> None:
    path = make_url(url).database
    if not path:
        return
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


async def create_pg_database() -> tuple[str, bool]:
    """(url, created): COOPBOT_BENCH_DATABASE_URL as given, or a new database on the local server."""
    given = os.environ.get(PG_ENV)
    if given:
        url = given.replace("postgresql://", "postgresql+asyncpg://", 1) if "+asyncpg" not in given else given
        await _migrate(url)
        return url, False
    name = f"coopbot_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_async_engine(PG_DEFAULT_SERVER, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    url = make_url(PG_DEFAULT_SERVER).set(database=name).render_as_string(hide_password=False)
    await _migrate(url)
    return url, True


async def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def pg_available() -> str | None:
    """None when a PostgreSQL server answers, else the reason it does not."""
    url = os.environ.get(PG_ENV) or PG_DEFAULT_SERVER
    url = url.replace("postgresql://", "postgresql+asyncpg://", 1) if "+asyncpg" not in url else url
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return None
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    finally:
        await engine.dispose()


async def empty_pg(url: str) -> None:
    """Empty every coopbot table (a fresh database for the next run, schema kept)."""
    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    try:
        async with engine.begin() as connection:
            # Replica mode skips the ledger's append-only triggers, which are for the application.
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


async def fresh_database(kind: str, pg_url: str | None = None) -> str:
    """A fresh empty database of `kind` ("sqlite" or "postgresql") for one run."""
    if kind == "sqlite":
        return await fresh_sqlite()
    assert pg_url is not None, "a PostgreSQL run needs the benchmark database's url"
    await empty_pg(pg_url)
    return pg_url


def release_database(kind: str, url: str) -> None:
    if kind == "sqlite":
        remove_sqlite(url)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


async def bulk_insert(
    engine: AsyncEngine, table: Any, rows: Sequence[dict[str, Any]], *, chunk: int = 20_000
) -> None:
    """Insert many rows with executemany, in chunks, each chunk committed (bulk SQL, not the ORM)."""
    for start in range(0, len(rows), chunk):
        async with engine.begin() as connection:
            await connection.execute(insert(table), list(rows[start : start + chunk]))
