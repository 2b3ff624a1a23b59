"""The vote path's transaction, at the driver: as few round trips as the rules allow.

A vote reads the decision (locked on PostgreSQL, so that no vote lands after a close) and the voters'
current ballots, then writes the history rows and the upserts, in one transaction. Through the ORM that is
about twenty hops to SQLite's worker thread per vote and a few milliseconds of CPU; here each step is one
statement for the whole batch:

- SQLite (aiosqlite): BEGIN IMMEDIATE and one read (the decisions joined with the voters' ballots) in
  one hop to aiosqlite's thread; the history, the upserts and COMMIT in a second: two hops per batch
  (about twenty per vote through the ORM), under the process's writer queue like every other write
  (``Database.write``);
- PostgreSQL (asyncpg): BEGIN and the decisions' row locks in the first round trip, so that a close racing
  the batch is either seen or waits; then the same read, and the history and upserts in one statement.

The connection is one of SQLAlchemy's (its settings and pragmas apply), kept between batches by the
Database so that no checkout or reset costs a trip; only the statements bypass the ORM. The rows read are
handed back as plain tuples: what the rules make of them is governance's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import chain
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import Database
from storage.models import Decision

# Every column of a decision, in the table's order: a vote compares the whole row with the one it last
# built its rules from, so any change (extended, closed, cancelled, reopened, edited, posted) is seen.
DECISION_COLUMNS: tuple[str, ...] = tuple(column.name for column in Decision.__table__.columns)  # type: ignore[attr-defined]
_DECISION_LIST = ", ".join(f'"{name}"' for name in DECISION_COLUMNS)

_VOTE_COLUMNS = "guild_id, decision_id, voter_id, ballot, reason, cast_at, updated_at"
_EVENT_COLUMNS = "guild_id, decision_id, voter_id, action, ballot, reason, at"
# The unique (decision, voter) constraint decides against a concurrent transaction; an update keeps the
# first cast_at.
_ON_CONFLICT = (
    "ON CONFLICT (decision_id, voter_id) DO UPDATE SET ballot = excluded.ballot, reason = excluded.reason, "
    "updated_at = excluded.updated_at"
)

# The decisions and the voters' current ballots in one statement: each decision's row, once per ballot
# found (a voter of another decision of the batch may come along: harmless, it is looked up by key).
_READ = (
    "SELECT {decision}, v.voter_id, v.ballot, v.reason FROM decisions AS d "
    "LEFT JOIN votes AS v ON v.decision_id = d.id AND v.voter_id {voters} WHERE d.id {decisions}"
)
_PG_READ = _READ.format(
    decision=", ".join(f'd."{name}"' for name in DECISION_COLUMNS),
    voters="= ANY($2::bigint[])",
    decisions="= ANY($1::integer[])",
)
# The history and the upserts in one statement: arrays of the batch's rows, unnested.
_PG_WRITE = (
    f"WITH history AS (INSERT INTO vote_events ({_EVENT_COLUMNS}) SELECT * FROM unnest($1::bigint[], "
    "$2::integer[], $3::bigint[], $4::varchar[], $5::varchar[], $6::text[], $7::timestamptz[])) "
    f"INSERT INTO votes ({_VOTE_COLUMNS}) SELECT g, d, v, b, r, t, t FROM unnest($8::bigint[], "
    "$9::integer[], $10::bigint[], $11::varchar[], $12::text[], $13::timestamptz[]) AS u(g, d, v, b, r, t) "
    f"{_ON_CONFLICT}"
)
_SQLITE_READ_HEAD = _READ.format(
    decision=", ".join(f'd."{name}"' for name in DECISION_COLUMNS), voters="{voters}", decisions="{decisions}"
)
_SQLITE_EVENT = f"INSERT INTO vote_events ({_EVENT_COLUMNS}) VALUES {{rows}}"
_SQLITE_VOTE = f"INSERT INTO votes ({_VOTE_COLUMNS}) VALUES {{rows}} {_ON_CONFLICT}"
_SQLITE_ROW = "(?, ?, ?, ?, ?, ?, ?)"
# Rows per INSERT: well under SQLite's 32,766 parameters (7 a row).
_SQLITE_ROWS_PER_STATEMENT = 500

VoteKey = tuple[int, int]  # (decision id, voter id)
Ballot = tuple[str, str | None]  # (ballot, reason)
# (guild id, decision id, voter id, ballot, reason, when): one new or changed vote; `action` for history.
VoteRow = tuple[int, int, int, str, str | None, datetime]
EventRow = tuple[int, int, int, str, str, str | None, datetime]


def _sqlite_time(moment: datetime) -> str:
    """As SQLAlchemy's SQLite DateTime stores it (naive UTC, microseconds), so the ORM reads it back."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@dataclass
class VoteTransaction:
    """What a batch of votes reads, and its one write."""

    decisions: dict[int, tuple[Any, ...]]  # id -> the row, in DECISION_COLUMNS order
    ballots: dict[VoteKey, Ballot]  # the voters' current ballots
    _writes: list[tuple[list[EventRow], list[VoteRow]]] = field(default_factory=list)

    def write(self, events: list[EventRow], votes: list[VoteRow]) -> None:
        """Written when the transaction commits (history first, then the upserts)."""
        self._writes.append((events, votes))


@asynccontextmanager
async def vote_transaction(
    db: Database, decision_ids: Sequence[int], keys: Sequence[VoteKey]
) -> AsyncIterator[VoteTransaction]:
    """One transaction for a batch of votes: the decisions and current ballots read, the writes
    committed when the block ends; rolled back on any error."""
    voter_ids = sorted({voter_id for _, voter_id in keys})
    if db.is_sqlite:
        async with db.vote_turn():
            connection = await db.held_connection()
            raw = await _driver(connection)
            try:
                query = _SQLITE_READ_HEAD.format(
                    voters=f"IN ({', '.join('?' for _ in voter_ids)})",
                    decisions=f"IN ({', '.join('?' for _ in decision_ids)})",
                )
                transaction = _read(
                    await _in_sqlite_thread(raw, _sqlite_begin_and_read, query, [*voter_ids, *decision_ids])
                )
                yield transaction
                await _in_sqlite_thread(
                    raw, _sqlite_write_and_commit, _sqlite_statements(transaction._writes)
                )
            except BaseException:
                try:
                    # Queued behind whatever this batch left on the thread (a cancelled wait does not stop
                    # it there), so that a BEGIN that runs after all is rolled back too.
                    await _in_sqlite_thread(raw, _sqlite_rollback)
                except BaseException:
                    await db.drop_held_connection()  # the next batch starts on a fresh one
                    raise
                raise
        return
    async with db.vote_turn():
        connection = await db.held_connection()
        raw = await _driver(connection)
        # BEGIN and the decisions' row locks in the first round trip (the simple protocol takes both
        # statements at once): a close that comes later waits for this batch, and one that came first
        # is seen committed by the read below (each statement reads what was committed before it).
        numbers = ", ".join(str(int(decision_id)) for decision_id in decision_ids)
        lock = f"BEGIN; SELECT 1 FROM decisions WHERE id IN ({numbers}) ORDER BY id FOR UPDATE"
        try:
            await raw.execute(lock)
            transaction = _read(await raw.fetch(_PG_READ, list(decision_ids), voter_ids))
            yield transaction
            for events, votes in transaction._writes:
                if events or votes:
                    await raw.execute(_PG_WRITE, *_columns(events, 7), *_columns(votes, 6))
            await raw.execute("COMMIT")
        except BaseException:
            try:
                if raw.is_in_transaction():
                    await raw.execute("ROLLBACK")
            except BaseException:
                await db.drop_held_connection()  # never reuse a connection left inside this transaction
                raise
            raise


async def prepare(db: Database) -> None:
    """Open the connection the vote path keeps and, on PostgreSQL, prepare its two statements (asyncpg
    prepares a statement at its first use and keeps it for the connection), so that the first votes after
    a start do not wait for them: they did, some 15 ms, in the middle of the first burst."""
    async with db.vote_turn():
        raw = await _driver(await db.held_connection())
        if db.is_sqlite:
            return
        try:
            await raw.fetch(_PG_READ, [], [])
            await raw.execute("BEGIN")
            await raw.execute(_PG_WRITE, *([[]] * 13))  # no rows: nothing is written
            await raw.execute("ROLLBACK")
        except BaseException:
            await db.drop_held_connection()
            raise


def _read(rows: Sequence[Sequence[Any]]) -> VoteTransaction:
    width = len(DECISION_COLUMNS)
    decisions: dict[int, tuple[Any, ...]] = {}
    ballots: dict[VoteKey, Ballot] = {}
    for row in rows:
        decisions[row[0]] = tuple(row[:width])
        if row[width] is not None:
            ballots[(row[0], row[width])] = (row[width + 1], row[width + 2])
    return VoteTransaction(decisions, ballots)


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows as one list per column (what unnest takes)."""
    return [[row[index] for row in rows] for index in range(width)]


def decision_from_row(db: Database, row: tuple[Any, ...]) -> Decision:
    """The decision a row read here holds, converted as the ORM converts it (each column type's own result
    processing for this database), without a second read."""
    values = {
        name: process(value) if process is not None else value
        for (name, process), value in zip(_processors(db.engine.dialect), row, strict=True)
    }
    return Decision(**values)


@cache
def _processors(dialect: Dialect) -> tuple[tuple[str, Any], ...]:
    columns = Decision.__table__.columns  # type: ignore[attr-defined]
    return tuple(
        (column.name, column.type.dialect_impl(dialect).result_processor(dialect, None)) for column in columns
    )


async def _driver(connection: AsyncConnection) -> Any:
    """The driver's own connection (aiosqlite's or asyncpg's) under SQLAlchemy's pooled one."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None, "a checked-out connection has its driver connection"
    return driver


async def _in_sqlite_thread(raw: Any, work: Callable[..., Any], *args: Any) -> Any:
    """Run `work(sqlite3 connection, *args)` on aiosqlite's own thread, in one hop: aiosqlite hops once per
    statement, and each hop (its queue, the thread's wake-up, the loop's) costs about what a statement
    does. `_execute` is the queue aiosqlite runs every call of its own through."""
    return await raw._execute(work, raw._conn, *args)


def _sqlite_rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.rollback()


def _sqlite_begin_and_read(conn: sqlite3.Connection, query: str, parameters: list[int]) -> list[Any]:
    conn.execute("BEGIN IMMEDIATE")
    return conn.execute(query, parameters).fetchall()


def _sqlite_statements(writes: list[tuple[list[EventRow], list[VoteRow]]]) -> list[tuple[str, list[Any]]]:
    """The writes as multi-row INSERTs, built on the event loop so that aiosqlite's thread only runs them.
    Multi-row rather than `executemany`: SQLite steps once per statement, and the sqlite3 module lets go
    of the GIL and takes it back at every step, which waits whenever the event loop is busy."""
    statements: list[tuple[str, list[Any]]] = []
    for events, votes in writes:
        event_rows = [(*event[:6], _sqlite_time(event[6])) for event in events]
        vote_rows = [(*vote[:5], *[_sqlite_time(vote[5])] * 2) for vote in votes]  # cast_at, updated_at
        for statement, rows in ((_SQLITE_EVENT, event_rows), (_SQLITE_VOTE, vote_rows)):
            for start in range(0, len(rows), _SQLITE_ROWS_PER_STATEMENT):
                chunk = rows[start : start + _SQLITE_ROWS_PER_STATEMENT]
                values = ", ".join([_SQLITE_ROW] * len(chunk))
                statements.append((statement.format(rows=values), list(chain.from_iterable(chunk))))
    return statements


def _sqlite_write_and_commit(conn: sqlite3.Connection, statements: list[tuple[str, list[Any]]]) -> None:
    for statement, parameters in statements:
        conn.execute(statement, parameters)
    conn.execute("COMMIT")
