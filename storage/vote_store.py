"""The vote path's transaction, at the driver: as few round trips as the rules allow.

A vote reads the decision (locked on PostgreSQL, so that no vote lands after a close) and the voters'
current ballots, then writes the history rows and the upserts, in one transaction. Through the ORM that is
about twenty hops to SQLite's worker thread per vote and a few milliseconds of CPU; here each step is one
statement (the writes one ``executemany`` each, for the whole batch):

- SQLite (aiosqlite): BEGIN IMMEDIATE, read the decisions, read the ballots, write the history, upsert, COMMIT
  — six hops to its thread per batch, seven with the pool's reset (about twenty per vote through the ORM),
  under the process's writer lock like every other write (``Database.write``);
- PostgreSQL (asyncpg): BEGIN and the decisions' row locks in the first round trip, then the same reads and
  writes, so that a close racing the batch is either before it (seen) or after it (waits).

The connection comes from SQLAlchemy's pool (its settings and pragmas apply); only the statements bypass
the ORM. The rows read are handed back as plain tuples: what the rules make of them is governance's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
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

_PG_DECISIONS = f"SELECT {_DECISION_LIST} FROM decisions WHERE id = ANY($1::integer[])"
_PG_BALLOTS = (
    "SELECT decision_id, voter_id, ballot, reason FROM votes "
    "WHERE (decision_id, voter_id) IN (SELECT * FROM unnest($1::integer[], $2::bigint[]))"
)
_PG_EVENT = f"INSERT INTO vote_events ({_EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
_PG_VOTE = f"INSERT INTO votes ({_VOTE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $6) {_ON_CONFLICT}"
_SQLITE_EVENT = f"INSERT INTO vote_events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_SQLITE_VOTE = f"INSERT INTO votes ({_VOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) {_ON_CONFLICT}"

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
    voters: dict[int, list[int]] = {}
    for decision_id, voter_id in keys:
        voters.setdefault(decision_id, []).append(voter_id)
    if db.is_sqlite:
        async with db.sqlite_writer(), db.engine.connect() as connection:
            raw = await _driver(connection)
            await raw.execute("BEGIN IMMEDIATE")
            try:
                transaction = VoteTransaction(
                    await _sqlite_decisions(raw, decision_ids), await _sqlite_ballots(raw, voters)
                )
                yield transaction
                for events, votes in transaction._writes:
                    await _sqlite_write(raw, events, votes)
                await raw.execute("COMMIT")
            except BaseException:
                await raw.rollback()
                raise
        return
    async with db.engine.connect() as connection:
        raw = await _driver(connection)
        # BEGIN and the decisions' row locks in the first round trip (the simple protocol takes both
        # statements at once): a close that comes later waits for this batch, and one that came first
        # is seen committed by the reads below (each statement reads what was committed before it).
        numbers = ", ".join(str(int(decision_id)) for decision_id in decision_ids)
        await raw.execute(f"BEGIN; SELECT 1 FROM decisions WHERE id IN ({numbers}) ORDER BY id FOR UPDATE")
        try:
            rows = await raw.fetch(_PG_DECISIONS, list(decision_ids))
            ballots = await raw.fetch(
                _PG_BALLOTS,
                [decision_id for decision_id, _ in keys],
                [voter_id for _, voter_id in keys],
            )
            transaction = VoteTransaction(
                {row[0]: tuple(row) for row in rows},
                {(row[0], row[1]): (row[2], row[3]) for row in ballots},
            )
            yield transaction
            for events, votes in transaction._writes:
                if events:
                    await raw.executemany(_PG_EVENT, events)
                if votes:
                    await raw.executemany(_PG_VOTE, votes)
            await raw.execute("COMMIT")
        except BaseException:
            if raw.is_in_transaction():
                try:
                    await raw.execute("ROLLBACK")
                except BaseException:
                    # Never hand the pool a connection left inside this transaction.
                    await connection.invalidate()
                    raise
            raise


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


async def _sqlite_decisions(raw: Any, decision_ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    marks = ", ".join("?" for _ in decision_ids)
    rows = await raw.execute_fetchall(
        f"SELECT {_DECISION_LIST} FROM decisions WHERE id IN ({marks})", list(decision_ids)
    )
    return {row[0]: tuple(row) for row in rows}


async def _sqlite_ballots(raw: Any, voters: dict[int, list[int]]) -> dict[VoteKey, Ballot]:
    found: dict[VoteKey, Ballot] = {}
    for decision_id, voter_ids in voters.items():
        marks = ", ".join("?" for _ in voter_ids)
        rows = await raw.execute_fetchall(
            f"SELECT voter_id, ballot, reason FROM votes WHERE decision_id = ? AND voter_id IN ({marks})",
            [decision_id, *voter_ids],
        )
        found.update({(decision_id, row[0]): (row[1], row[2]) for row in rows})
    return found


async def _sqlite_write(raw: Any, events: list[EventRow], votes: list[VoteRow]) -> None:
    if events:
        await raw.executemany(_SQLITE_EVENT, [(*event[:6], _sqlite_time(event[6])) for event in events])
    if votes:
        await raw.executemany(
            _SQLITE_VOTE, [(*vote[:5], _sqlite_time(vote[5]), _sqlite_time(vote[5])) for vote in votes]
        )
