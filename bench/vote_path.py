"""Benchmark 2 (and 6 on PostgreSQL): the vote path without Discord.

Votes cast through the governance layer, compared in the same run with raw committed inserts of the same
rows (the `votes` upsert and the `vote_events` insert, one transaction per vote) through the same driver:
aiosqlite on SQLite (WAL, synchronous=NORMAL, as storage.database sets it), asyncpg on PostgreSQL.

Variants, each on a fresh database, N voters casting then the same N changing their vote:

- raw           one committed transaction per vote, straight through the driver (1 in flight);
- raw-100       the same rows, 100 votes per committed transaction (what group commit can reach at best);
- cast_vote     `governance.voting.cast_vote`, one call per vote, at 1 and at 100 in flight;
- batcher       `governance.voting.VoteBatcher.cast` (the group commit the vote button uses), at 1 and
                100 in flight; skipped when the tree has no VoteBatcher.

Cost per vote = wall time / votes (what a burst waits for) and process CPU / votes (includes the driver's
thread). The target: the governance path at most 2x the raw cost per vote, at 1 in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import select

from bench import _db
from bench._common import (
    ESTABLISHED_RATIO,
    latency_summary,
    median,
    progress,
    ratio,
    run_child,
    table,
    verdict,
    write_results,
)
from bench._simenv import START

TARGET_FACTOR = 2.0

_SQLITE_UPSERT = (
    "INSERT INTO votes (guild_id, decision_id, voter_id, ballot, reason, cast_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (decision_id, voter_id) DO UPDATE SET "
    "ballot = excluded.ballot, reason = excluded.reason, updated_at = excluded.updated_at"
)
_SQLITE_EVENT = (
    "INSERT INTO vote_events (guild_id, decision_id, voter_id, action, ballot, reason, at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_PG_UPSERT = (
    "INSERT INTO votes (guild_id, decision_id, voter_id, ballot, reason, cast_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (decision_id, voter_id) DO UPDATE SET "
    "ballot = excluded.ballot, reason = excluded.reason, updated_at = excluded.updated_at"
)
_PG_EVENT = (
    "INSERT INTO vote_events (guild_id, decision_id, voter_id, action, ballot, reason, at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"
)

GUILD_ID = 424_242_424_242
MEMBER_ROLE = 515_151_515_151
ADMIN_ID = 999_000_000_001
VOTER_BASE = 700_000_000_000


def _sqlite_time(moment: datetime) -> str:
    # SQLAlchemy's SQLite DateTime storage format (naive UTC), as UTCDateTime writes it.
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


async def _setup(url: str) -> tuple[Any, int]:
    from governance import proposing
    from governance.coop import SetupChanges, configure_guild
    from governance.permissions import Actor
    from storage.database import Database

    db = Database.from_url(url)
    await configure_guild(
        db,
        guild_id=GUILD_ID,
        actor=Actor(user_id=ADMIN_ID, manages_guild=True),
        changes=SetupChanges(member_role_id=MEMBER_ROLE),
        now=START,
    )
    decision = await proposing.open_decision(
        db,
        guild_id=GUILD_ID,
        actor=Actor(user_id=ADMIN_ID, role_ids=frozenset({MEMBER_ROLE})),
        draft=proposing.ProposalDraft(title="Vote path", kind="consensus", closes="7d"),
        now=START,
    )
    assert decision.id is not None
    return db, decision.id


class _Raw:
    """The same rows through the bare driver."""

    def __init__(self, url: str, decision_id: int) -> None:
        self.url = url
        self.decision_id = decision_id
        self.sqlite = make_url(url).get_backend_name() == "sqlite"
        self.connection: Any = None
        self.lock = asyncio.Lock()

    async def open(self) -> None:
        if self.sqlite:
            import aiosqlite

            self.connection = await aiosqlite.connect(make_url(self.url).database or "", isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
                await self.connection.execute(f"PRAGMA {pragma}")
        else:
            import asyncpg

            parsed = make_url(self.url)
            self.connection = await asyncpg.connect(
                user=parsed.username,
                password=parsed.password,
                host=parsed.host,
                port=parsed.port,
                database=parsed.database,
            )

    async def close(self) -> None:
        await self.connection.close()

    def _rows(self, voter: int, ballot: str, action: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        now: Any = _sqlite_time(START) if self.sqlite else START
        vote = (GUILD_ID, self.decision_id, voter, ballot, None, now, now)
        event = (GUILD_ID, self.decision_id, voter, action, ballot, None, now)
        return vote, event

    async def commit(self, rows: list[tuple[int, str, str]]) -> None:
        """One committed transaction holding `rows` (voter, ballot, action)."""
        async with self.lock:
            if self.sqlite:
                connection = self.connection
                await connection.execute("BEGIN IMMEDIATE")
                for voter, ballot, action in rows:
                    vote, event = self._rows(voter, ballot, action)
                    await connection.execute(_SQLITE_UPSERT, vote)
                    await connection.execute(_SQLITE_EVENT, event)
                await connection.execute("COMMIT")
            else:
                async with self.connection.transaction():
                    for voter, ballot, action in rows:
                        vote, event = self._rows(voter, ballot, action)
                        await self.connection.execute(_PG_UPSERT, *vote)
                        await self.connection.execute(_PG_EVENT, *event)


class _RoundTrips:
    """Counts aiosqlite's hops to its worker thread (each statement step, fetch, commit is one): on SQLite
    the cost of a vote follows this count more than the SQL itself."""

    count = 0
    installed = False

    @classmethod
    def install(cls) -> None:
        if cls.installed:
            return
        import aiosqlite.core

        original = aiosqlite.core.Connection._execute

        async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
            cls.count += 1
            return await original(self, fn, *args, **kwargs)

        aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]
        cls.installed = True


class _DriverStatements:
    """Counts the statements the vote path sends at the driver (storage.vote_store), which SQLAlchemy's
    cursor events do not see: each call of the driver connection's own execute / fetch / executemany
    methods, and each statement of a multi-statement string ("BEGIN; SELECT ... FOR UPDATE" is two)."""

    counter: dict[str, int] | None = None
    installed = False

    @classmethod
    def install(cls, counter: dict[str, int]) -> None:
        cls.counter = counter
        if cls.installed:
            return
        import aiosqlite.core
        import asyncpg

        from storage import vote_store

        def counted(original: Any) -> Any:
            def call(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
                if cls.counter is not None:
                    cls.counter["count"] += sql.count(";") + 1 if not args else 1
                return original(self, sql, *args, **kwargs)

            return call

        for owner, names in (
            (aiosqlite.core.Connection, ("execute", "execute_fetchall", "executemany")),
            (asyncpg.connection.Connection, ("execute", "fetch", "executemany")),
        ):
            for name in names:
                setattr(owner, name, counted(getattr(owner, name)))

        # On SQLite the vote path runs its statements on aiosqlite's thread, on the sqlite3 connection
        # itself (a C type, which cannot be patched): hand its work a counting stand-in instead.
        class CountingConnection:
            def __init__(self, connection: Any) -> None:
                self._connection = connection

            execute = counted(lambda self, sql, *args: self._connection.execute(sql, *args))
            executemany = counted(lambda self, sql, *args: self._connection.executemany(sql, *args))

        in_thread = vote_store._in_sqlite_thread

        async def counted_in_thread(raw: Any, work: Callable[..., Any], *args: Any) -> Any:
            return await in_thread(
                raw, lambda connection, *rest: work(CountingConnection(connection), *rest), *args
            )

        vote_store._in_sqlite_thread = counted_in_thread
        cls.installed = True


async def _timed(
    calls: list[Callable[[], Awaitable[Any]]], in_flight: int
) -> tuple[float, float, list[float]]:
    """Run the calls with `in_flight` at a time; (wall seconds, CPU seconds, per-call latencies)."""
    latencies: list[float] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(calls):
            call = calls[next_index]
            next_index += 1
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    cpu = time.process_time()
    wall = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(in_flight, len(calls)))))
    return time.perf_counter() - wall, time.process_time() - cpu, latencies


async def _check(db: Any, decision_id: int, voters: list[int]) -> dict[str, int]:
    from storage.models import Vote, VoteEvent

    async with db.read() as session:
        ballots = dict(
            (
                await session.exec(select(Vote.voter_id, Vote.ballot).where(Vote.decision_id == decision_id))
            ).all()
        )
        events = (
            await session.exec(
                select(func.count()).select_from(VoteEvent).where(VoteEvent.decision_id == decision_id)
            )
        ).one()
    return {
        "votes_stored": len(ballots),
        "changes_lost": sum(1 for voter in voters if ballots.get(voter) != "disagree"),
        "vote_events": int(events),
    }


async def measure_variant(
    variant: str, in_flight: int, url: str, voters_count: int, profile: bool = False
) -> dict[str, Any]:
    from governance import voting
    from governance.permissions import Actor

    db, decision_id = await _setup(url)
    voters = [VOTER_BASE + index for index in range(voters_count)]
    actors = {voter: Actor(user_id=voter, role_ids=frozenset({MEMBER_ROLE})) for voter in voters}
    raw = _Raw(url, decision_id) if variant.startswith("raw") else None
    batcher = voting.VoteBatcher(db) if variant == "batcher" else None
    if raw:
        await raw.open()
    statements = {"count": 0}
    if raw is None:
        from sqlalchemy import event

        @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
        def _count(*_args: Any) -> None:
            statements["count"] += 1

        _DriverStatements.install(statements)
    else:
        _DriverStatements.counter = None

    sqlite = make_url(url).get_backend_name() == "sqlite"
    if sqlite:
        _RoundTrips.install()
    result: dict[str, Any] = {
        "variant": variant,
        "in_flight": in_flight,
        "voters": voters_count,
        "phases": {},
    }
    profiler = cProfile.Profile() if profile else None
    try:
        for phase, ballot in (("cast", "agree"), ("change", "disagree")):
            action = "cast" if phase == "cast" else "change"
            calls: list[Callable[[], Awaitable[Any]]]
            if raw is not None and variant == "raw":
                calls = [partial(raw.commit, [(voter, ballot, action)]) for voter in voters]
            elif raw is not None:
                chunks = [voters[i : i + 100] for i in range(0, len(voters), 100)]
                calls = [partial(raw.commit, [(v, ballot, action) for v in chunk]) for chunk in chunks]
            elif batcher is not None:
                calls = [
                    partial(
                        batcher.cast,
                        voting.VoteRequest(GUILD_ID, decision_id, actors[voter], START, choice=ballot),
                    )
                    for voter in voters
                ]
            else:
                calls = [
                    partial(
                        voting.cast_vote,
                        db,
                        guild_id=GUILD_ID,
                        decision_id=decision_id,
                        actor=actors[voter],
                        now=START,
                        choice=ballot,
                    )
                    for voter in voters
                ]
            transactions_before = batcher.transactions if batcher else 0
            statements_before = statements["count"]
            trips_before = _RoundTrips.count
            if profiler and phase == "cast":
                profiler.enable()
            seconds, cpu, latencies = await _timed(calls, 1 if variant == "raw-100" else in_flight)
            if profiler and phase == "cast":
                profiler.disable()
            result["phases"][phase] = {
                "votes": voters_count,
                "seconds": seconds,
                "ops_per_s": voters_count / seconds,
                "wall_ms_per_vote": seconds * 1000 / voters_count,
                "cpu_ms_per_vote": cpu * 1000 / voters_count,
                "transactions": (batcher.transactions - transactions_before)
                if batcher
                else (len(calls) if raw else voters_count),
                **latency_summary(latencies),
                "statements_per_vote": (statements["count"] - statements_before) / voters_count
                if raw is None
                else (2 * voters_count + 2 * len(calls)) / voters_count,
                "round_trips_per_vote": (_RoundTrips.count - trips_before) / voters_count if sqlite else None,
            }
        result["correctness"] = await _check(db, decision_id, voters)
    finally:
        if raw:
            await raw.close()
        await db.dispose()
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(45)
        result["profile"] = out.getvalue()
    return result


def _variants(has_batcher: bool) -> list[tuple[str, int]]:
    variants = [("raw", 1), ("raw-100", 100), ("cast_vote", 1), ("cast_vote", 100)]
    if has_batcher:
        variants += [("batcher", 1), ("batcher", 100)]
    return variants


async def measure_rep(params: dict[str, Any]) -> dict[str, Any]:
    """One repetition in one process: every variant on its own fresh database, order rotated by rep."""
    from governance import voting

    variants = _variants(hasattr(voting, "VoteBatcher"))
    shift = params["rep"] % len(variants)
    order = variants[shift:] + variants[:shift]
    if params["rep"] % 2:
        order.reverse()
    results = []
    for variant, in_flight in order:
        url = await _db.fresh_database(params["database"], params.get("pg_url"))
        try:
            results.append(
                await measure_variant(
                    variant, in_flight, url, params["voters"], profile=params.get("profile", False)
                )
            )
        except Exception as error:
            results.append(
                {"variant": variant, "in_flight": in_flight, "error": f"{type(error).__name__}: {error}"}
            )
        finally:
            _db.release_database(params["database"], url)
    return {"results": results}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by_variant: dict[tuple[str, int], list[dict[str, Any]]] = {}
    raw_by_rep: dict[int, dict[str, Any]] = {}
    for run in runs:
        for result in run["results"]:
            if "error" in result:
                continue
            result["rep"] = run["rep"]
            by_variant.setdefault((result["variant"], result["in_flight"]), []).append(result)
            if result["variant"] == "raw":
                raw_by_rep[run["rep"]] = result
    rows = []
    for (variant, in_flight), results in sorted(
        by_variant.items(), key=lambda item: (item[0][0] != "raw", item[0])
    ):
        for phase in ("cast", "change"):
            measured = [r["phases"][phase] for r in results]
            row = {
                "variant": variant,
                "in_flight": in_flight,
                "phase": phase,
                "runs": len(measured),
                "votes": measured[0]["votes"],
                **{
                    metric: median(m[metric] for m in measured)
                    for metric in (
                        "ops_per_s",
                        "wall_ms_per_vote",
                        "cpu_ms_per_vote",
                        "p50_ms",
                        "p99_ms",
                        "max_ms",
                        "transactions",
                        "statements_per_vote",
                        "round_trips_per_vote",
                    )
                },
                "wall_x_raw": median(
                    ratio(
                        r["phases"][phase]["wall_ms_per_vote"],
                        raw_by_rep[r["rep"]]["phases"][phase]["wall_ms_per_vote"],
                    )
                    for r in results
                    if r["rep"] in raw_by_rep
                ),
                "cpu_x_raw": median(
                    ratio(
                        r["phases"][phase]["cpu_ms_per_vote"],
                        raw_by_rep[r["rep"]]["phases"][phase]["cpu_ms_per_vote"],
                    )
                    for r in results
                    if r["rep"] in raw_by_rep
                ),
                "changes_lost": sum(r["correctness"]["changes_lost"] for r in results),
                "votes_stored": median(r["correctness"]["votes_stored"] for r in results),
            }
            rows.append(row)
    targets = []
    for row in rows:
        if row["variant"] in ("cast_vote", "batcher") and row["in_flight"] == 1:
            for cost in ("wall", "cpu"):
                value = row[f"{cost}_x_raw"]
                targets.append(
                    {
                        "target": f"{row['variant']} {row['phase']} <= {TARGET_FACTOR:g}x raw "
                        f"({cost} per vote, 1 in flight)",
                        "value": value,
                        "verdict": verdict(value, TARGET_FACTOR),
                    }
                )
    return {"rows": rows, "targets": targets}


def render(summary: dict[str, Any], title: str) -> str:
    headers = [
        "variant",
        "K",
        "phase",
        "votes",
        "votes/s",
        "wall ms/vote",
        "CPU ms/vote",
        "p50 ms",
        "p99 ms",
        "max ms",
        "txns",
        "SQL/vote",
        "hops/vote",
        "wall x raw",
        "CPU x raw",
        "lost",
    ]
    rows = [
        [
            r["variant"],
            r["in_flight"],
            r["phase"],
            r["votes"],
            r["ops_per_s"],
            r["wall_ms_per_vote"],
            r["cpu_ms_per_vote"],
            r["p50_ms"],
            r["p99_ms"],
            r["max_ms"],
            r["transactions"],
            r["statements_per_vote"],
            r["round_trips_per_vote"],
            r["wall_x_raw"],
            r["cpu_x_raw"],
            r["changes_lost"],
        ]
        for r in summary["rows"]
    ]
    parts = [table(headers, rows, title=title)]
    if summary["targets"]:
        parts.append(
            table(
                ["target", "value", "verdict"],
                [[t["target"], t["value"], t["verdict"]] for t in summary["targets"]],
            )
        )
    parts.append(
        "Medians; SQL/vote = statements sent per vote (BEGIN and COMMIT included); hops/vote = aiosqlite "
        "worker-thread round trips per vote (SQLite only); "
        f"x raw = ratio to raw committed inserts measured in the same run "
        f"(differences under {ESTABLISHED_RATIO}x are not established)."
    )
    return "\n".join(parts)


def _run_database(database: str, voters: int, reps: int, pg_url: str | None) -> list[dict[str, Any]]:
    runs = []
    for rep in range(reps):
        progress(f"vote path on {database}: rep {rep + 1}/{reps}, {voters} voters")
        outcome = run_child(
            "bench.vote_path:measure_rep",
            {"rep": rep, "database": database, "voters": voters, "pg_url": pg_url},
            timeout=900,
        )
        if "error" in outcome:
            progress(f"  failed: {outcome['error']}")
            runs.append(
                {"rep": rep, "error": outcome["error"], "stderr": outcome.get("stderr"), "results": []}
            )
            continue
        runs.append({"rep": rep, **outcome})
    return runs


def run(quick: bool, *, postgres: bool = True, stamp: str | None = None) -> dict[str, Any]:
    voters = 150 if quick else 300
    reps = 3
    started = time.perf_counter()
    report: dict[str, Any] = {"quick": quick, "voters": voters}
    runs = _run_database("sqlite", voters, reps, None)
    report["sqlite"] = summarise(runs)
    report["sqlite_runs"] = runs
    print(
        render(
            report["sqlite"], f"Vote path without Discord (SQLite, WAL; {voters} voters cast, then change)"
        )
    )
    if postgres:
        reason = asyncio.run(_db.pg_available())
        if reason:
            report["postgresql"] = {"skipped": reason}
            print(f"\nVote path on PostgreSQL skipped: {reason}")
        else:
            pg_url, created = asyncio.run(_db.create_pg_database())
            try:
                pg_runs = _run_database("postgresql", voters, reps, pg_url)
            finally:
                if created:
                    asyncio.run(_db.drop_pg_database(pg_url))
            report["postgresql"] = summarise(pg_runs)
            report["postgresql_runs"] = pg_runs
            print(render(report["postgresql"], f"Vote path without Discord (PostgreSQL; {voters} voters)"))
    report["seconds"] = time.perf_counter() - started
    path = write_results("vote_path", report, stamp)
    print(f"\nvote_path: {report['seconds']:.0f} s, results in {path}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer voters, for development")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL runs")
    args = parser.parse_args()
    run(args.quick, postgres=not args.no_postgres)


if __name__ == "__main__":
    main()
