"""Benchmark 3: tally and close a big decision, for every decision type.

For each kind (and an anonymous consent decision, whose close deletes the votes and their history), a
decision gets 100,000 votes and 100,000 vote events inserted with bulk SQL (executemany, not the ORM), with
realistic ballots (random positions, subsets, rankings, scores and dots, canonical as the tally module
writes them; reasons where a position needs one). Then, on SQLite:

- the live tally (`current_tally`, what every tally edit runs) is timed;
- `close_decision` is timed three times (the decision is reopened with plain SQL between closes; the
  anonymous one gets its votes inserted again), reporting the median, with the resident-memory peak
  during the close (VmHWM reset before it) minus the resident memory before it;
- one more close runs under tracemalloc for the peak of Python allocations.

Targets: close under 1 s on SQLite; memory growth under 50 MB.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
import tracemalloc
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from bench import _db
from bench._common import (
    median,
    peak_rss_mb,
    progress,
    reset_peak_rss,
    rss_mb,
    run_child,
    table,
    verdict,
    write_results,
)
from bench._simenv import START

TARGET_SECONDS = 1.0
TARGET_GROWTH_MB = 50.0
GUILD_ID = 313_131_313_131
MEMBER_ROLE = 626_262_626_262
ADMIN_ID = 999_000_000_002
VOTER_BASE = 800_000_000_000
OPTIONS = ("Solar panels", "Heat pump", "Insulation", "Bike shed", "Rainwater tank")
REASONS = (
    "The budget line for this is not agreed yet; I would support it after the treasurer's review.",
    "We tried something similar in 2023 and the maintenance cost was far higher than planned.",
    "I agree with the aim but the timeline leaves no room for the members who work weekends.",
)
KINDS = (
    "consent",
    "consensus",
    "significant",
    "quorum",
    "emergency",
    "advice",
    "sense_check",
    "count",
    "poll",
    "ranked",
    "score",
    "dot",
)


def _draft(kind: str, anonymous: bool) -> Any:
    from governance.proposing import ProposalDraft

    return ProposalDraft(
        title=f"Big {kind} decision",
        kind=kind,
        options=OPTIONS if kind in ("poll", "ranked", "score", "dot") else (),
        max_choices=2 if kind == "poll" else 1,
        dots=8,
        target=50_000 if kind == "count" else None,
        anonymous=anonymous,
    )


def _ballots(rules: Any, count: int, rng: random.Random) -> list[tuple[str, str | None]]:
    """`count` canonical ballots (and reasons) drawn at random for these rules."""
    from governance.decision_types import DECISION_TYPES
    from governance.tally import encode_ballot

    kind = rules.kind.value
    positions = DECISION_TYPES[rules.kind].positions
    options = range(len(rules.options))
    ballots: list[tuple[str, str | None]] = []
    for _ in range(count):
        raw: Any
        if positions:
            # Mostly the first (supportive) position; reasons only where the position needs one.
            weights = [8] + [1] * (len(positions) - 1)
            position = rng.choices(positions, weights=weights)[0]
            reason = rng.choice(REASONS) if position.needs_reason else None
            ballots.append((encode_ballot(rules, position.key), reason))
            continue
        if kind == "poll":
            raw = rng.sample(options, rng.randint(1, rules.max_choices))
        elif kind == "ranked":
            raw = rng.sample(options, rng.randint(1, len(rules.options)))
        elif kind == "score":
            raw = {index: rng.randint(rules.score_min, rules.score_max) for index in options}
        else:
            raw = {}
            for _dot in range(rng.randint(1, rules.dots)):
                index = rng.choice(options)
                raw[index] = raw.get(index, 0) + 1
        ballots.append((encode_ballot(rules, raw), None))
    return ballots


async def _insert_votes(db: Any, decision: Any, ballots: list[tuple[str, str | None]]) -> float:
    from storage.models import Vote, VoteEvent

    started = time.perf_counter()
    at = decision.opens_at + timedelta(hours=1)
    votes = [
        {
            "guild_id": GUILD_ID,
            "decision_id": decision.id,
            "voter_id": VOTER_BASE + index,
            "ballot": ballot,
            "reason": reason,
            "cast_at": at,
            "updated_at": at,
        }
        for index, (ballot, reason) in enumerate(ballots)
    ]
    await _db.bulk_insert(db.engine, _db.table_of(Vote), votes)
    events = [
        {
            "guild_id": GUILD_ID,
            "decision_id": decision.id,
            "voter_id": VOTER_BASE + index,
            "action": "cast",
            "ballot": ballot,
            "reason": reason,
            "at": at,
        }
        for index, (ballot, reason) in enumerate(ballots)
    ]
    await _db.bulk_insert(db.engine, _db.table_of(VoteEvent), events)
    return time.perf_counter() - started


async def _reopen(db: Any, decision_id: int) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE decisions SET status = 'open', closed_at = NULL, result = NULL, passed = NULL, "
                "outcome = NULL WHERE id = :id"
            ),
            {"id": decision_id},
        )


async def measure(params: dict[str, Any]) -> dict[str, Any]:
    """Every kind, in one process, on one SQLite file."""
    from governance import decisions, proposing
    from governance.coop import SetupChanges, configure_guild
    from governance.permissions import Actor
    from storage.database import Database

    votes: int = params["votes"]
    reps: int = params["reps"]
    url = await _db.fresh_sqlite()
    db = Database.from_url(url)
    rng = random.Random(20261126)
    results = []
    try:
        await configure_guild(
            db,
            guild_id=GUILD_ID,
            actor=Actor(user_id=ADMIN_ID, manages_guild=True),
            changes=SetupChanges(member_role_id=MEMBER_ROLE),
            now=START,
        )
        author = Actor(user_id=ADMIN_ID, role_ids=frozenset({MEMBER_ROLE}))
        cases = [(kind, False) for kind in KINDS] + [("consent", True)]
        for kind, anonymous in cases:
            label = f"{kind}{' (anonymous)' if anonymous else ''}"
            progress(f"  close: {label}")
            decision = await proposing.open_decision(
                db, guild_id=GUILD_ID, actor=author, draft=_draft(kind, anonymous), now=START
            )
            assert decision.id is not None
            ballots = _ballots(decisions.rules_of(decision), votes, rng)
            insert_seconds = await _insert_votes(db, decision, ballots)
            after_close = decision.closes_at + timedelta(minutes=1)

            tally_started = time.perf_counter()
            live = await decisions.current_tally(db, decision, votes)
            tally_seconds = time.perf_counter() - tally_started

            closes: list[dict[str, float]] = []
            for rep in range(reps + 1):
                traced = rep == reps  # the last close runs under tracemalloc, for Python's own peak
                if rep:
                    await _reopen(db, decision.id)
                    if anonymous:
                        await _insert_votes(db, decision, ballots)
                gc.collect()
                before = rss_mb()
                reset_peak_rss()
                if traced:
                    tracemalloc.start()
                cpu = time.process_time()
                started = time.perf_counter()
                closed = await decisions.close_decision(
                    db, guild_id=GUILD_ID, decision_id=decision.id, eligible=votes, now=after_close
                )
                seconds = time.perf_counter() - started
                cpu_seconds = time.process_time() - cpu
                measured = {
                    "seconds": seconds,
                    "cpu_seconds": cpu_seconds,
                    "rss_growth_mb": peak_rss_mb() - before,
                    "rss_after_mb": rss_mb() - before,
                }
                if traced:
                    _current, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                    measured["tracemalloc_peak_mb"] = peak / 1e6
                assert closed is not None, f"the {label} decision did not close"
                closes.append(measured)
                del closed
            timed = closes[:reps]
            results.append(
                {
                    "kind": label,
                    "votes": votes,
                    "distinct_ballots": len({ballot for ballot, _ in ballots}),
                    "reasons": sum(1 for _, reason in ballots if reason),
                    "insert_seconds": insert_seconds,
                    "live_tally_ms": tally_seconds * 1000,
                    "voters_counted": live.voters,
                    "close_ms": median(c["seconds"] for c in timed) * 1000,
                    "close_ms_max": max(c["seconds"] for c in timed) * 1000,
                    "close_cpu_ms": median(c["cpu_seconds"] for c in timed) * 1000,
                    "rss_growth_mb": median(c["rss_growth_mb"] for c in timed),
                    "rss_growth_mb_max": max(c["rss_growth_mb"] for c in timed),
                    "tracemalloc_peak_mb": closes[-1]["tracemalloc_peak_mb"],
                    "tracemalloc_close_ms": closes[-1]["seconds"] * 1000,
                    "closes": closes,
                }
            )
    finally:
        await db.dispose()
        _db.remove_sqlite(url)
    return {"results": results, "peak_reset_supported": reset_peak_rss()}


def render(results: list[dict[str, Any]], votes: int) -> str:
    headers = [
        "kind",
        "distinct ballots",
        "reasons",
        "live tally ms",
        "close ms (median)",
        "close ms (max)",
        "close CPU ms",
        "RSS growth MB",
        "tracemalloc peak MB",
        "< 1 s",
        "< 50 MB",
    ]
    rows = [
        [
            r["kind"],
            r["distinct_ballots"],
            r["reasons"],
            r["live_tally_ms"],
            r["close_ms"],
            r["close_ms_max"],
            r["close_cpu_ms"],
            r["rss_growth_mb_max"],
            r["tracemalloc_peak_mb"],
            verdict(r["close_ms"] / 1000, TARGET_SECONDS),
            verdict(max(r["rss_growth_mb_max"], r["tracemalloc_peak_mb"]), TARGET_GROWTH_MB),
        ]
        for r in results
    ]
    return (
        table(headers, rows, title=f"Closing a decision with {votes:,} votes (SQLite, WAL)")
        + "\nclose ms: median of the timed closes; RSS growth: peak resident memory during the close minus "
        "before it (worst of the timed closes); tracemalloc: peak of Python allocations in a separate close."
    )


def run(quick: bool, *, stamp: str | None = None) -> dict[str, Any]:
    votes = 10_000 if quick else 100_000
    started = time.perf_counter()
    progress(f"close big: {votes:,} votes per decision, every kind")
    outcome = run_child("bench.close_big:measure", {"votes": votes, "reps": 3}, timeout=1200)
    report: dict[str, Any] = {"quick": quick, "votes": votes, **outcome}
    if "error" in outcome:
        print(f"\nclose_big failed: {outcome['error']}\n{outcome.get('stderr', '')}")
    else:
        print(render(outcome["results"], votes))
    report["seconds"] = time.perf_counter() - started
    path = write_results("close_big", report, stamp)
    print(f"\nclose_big: {report['seconds']:.0f} s, results in {path}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 votes instead of 100,000")
    args = parser.parse_args()
    run(args.quick)


if __name__ == "__main__":
    main()
