"""The async engine and sessions: SQLite (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE for writes) or
PostgreSQL (asyncpg). Nothing here blocks the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

# Execution option that makes the next transaction on a SQLite connection start with BEGIN IMMEDIATE, so
# a transaction that reads and then writes takes the write lock up front instead of failing with
# SQLITE_BUSY halfway.
_IMMEDIATE = "coopbot_sqlite_immediate"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) emit BEGIN, so that we choose DEFERRED or IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        # SQLite's own lower() only folds A-Z; searches must match "MĀORI" with "māori" as PostgreSQL does.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> AsyncEngine:
    """Build the async engine for `url`; creates the SQLite file's folder when needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _install_sqlite_pragmas(engine)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


def is_postgresql(session: AsyncSession) -> bool:
    """Whether row locks (SELECT ... FOR UPDATE) mean anything: SQLite serialises writers instead."""
    return session.get_bind().dialect.name == "postgresql"


class Database:
    """The engine plus the two ways governance code talks to it: a read session and a write transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        # SQLite has one writer at a time. Writers of this process queue here, on the event loop, instead
        # of each taking a connection and sleeping in SQLite's busy handler: a burst of writes then runs
        # at the speed of the disk rather than of the busy handler's back-off.
        self._sqlite_writer = asyncio.Lock() if self.is_sqlite else None
        self._vote_turn = asyncio.Lock()
        self._held: AsyncConnection | None = None

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 5) -> Database:
        return cls(create_engine(url, pool_size=pool_size))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; nothing it does is committed."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed when the block ends, rolled back entirely on any error.

        On SQLite it begins IMMEDIATE (the write lock is taken first, so concurrent read-then-write
        transactions queue instead of failing); on PostgreSQL use row locks (`with_for_update`) where a
        decision depends on what was read.
        """
        if self._sqlite_writer is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._sqlite_writer, self._sessions() as session, session.begin():
            # Procuring the connection with the option set is what makes its BEGIN immediate (still
            # needed: other processes may write to the same file).
            await session.connection(execution_options={_IMMEDIATE: True})
            yield session

    def vote_turn(self) -> asyncio.Lock:
        """The vote path's turn to use the connection it keeps (`held_connection`): on SQLite the
        process's writer queue, which `write` takes too; on PostgreSQL a queue of its own (the vote
        batches of a process go one after another anyway)."""
        return self._sqlite_writer if self._sqlite_writer is not None else self._vote_turn

    async def held_connection(self) -> AsyncConnection:
        """Under `vote_turn`: the connection the vote path keeps between its transactions (a checkout
        and the pool's reset on return cost a vote two more trips to the database, or to SQLite's
        thread, than its own statements)."""
        if self._held is None or self._held.closed or self._held.invalidated:
            self._held = await self.engine.connect()
        return self._held

    async def drop_held_connection(self) -> None:
        """Let go of the kept connection (after an error it might hide); the next use opens another."""
        held, self._held = self._held, None
        if held is not None:
            with contextlib.suppress(Exception):
                await held.invalidate()

    async def dispose(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            await held.close()
        await self.engine.dispose()
