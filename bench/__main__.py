"""`python -m bench`: run every benchmark, print plain tables, write JSON to bench/results/.

    python -m bench                 # the full suite (about 6 minutes on a quiet 2-core machine)
    python -m bench --quick         # smaller N for development (a few minutes)
    python -m bench --only vote_burst,vote_path --no-postgres

Each benchmark writes bench/results/<name>-<timestamp>.json (machine info included); this runner also
writes bench/results/summary-<timestamp>.json with every target's verdict.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench import close_big, reminder_burst, startup, vote_burst, vote_path
from bench._common import machine_info, progress, table, write_results

BENCHMARKS = ("vote_burst", "vote_path", "close_big", "reminder_burst", "startup")


def _targets(name: str, report: dict[str, Any]) -> list[list[Any]]:
    """(benchmark, target, value, verdict) rows from one benchmark's report."""
    rows: list[list[Any]] = []
    if name in ("vote_burst", "vote_path"):
        for database in ("sqlite", "postgresql"):
            part = report.get(database) or {}
            for target in part.get("targets", []):
                rows.append([f"{name} ({database})", target["target"], target["value"], target["verdict"]])
    elif name == "close_big":
        for result in report.get("results", []):
            seconds = result["close_ms"] / 1000
            growth = max(result["rss_growth_mb_max"], result["tracemalloc_peak_mb"])
            rows.append([name, f"close {result['kind']} < 1 s (ms)", result["close_ms"], _ok(seconds < 1.0)])
            rows.append([name, f"close {result['kind']} memory < 50 MB", growth, _ok(growth < 50.0)])
    elif name == "reminder_burst":
        for result in report.get("results", []):
            if "error" in result:
                rows.append([name, "run", result["error"], "FAILED"])
                continue
            net = "instant REST" if not result["latency_ms"] else f"{result['latency_ms']:.0f} ms REST"
            worst = result["probe_max_ms"] if result["probes_unanswered"] == 0 else float("inf")
            rows.append(
                [name, f"lag max < 100 ms ({net})", result["lag_max_ms"], _ok(result["lag_max_ms"] < 100)]
            )
            rows.append([name, f"interaction answered < 3 s ({net}), worst ms", worst, _ok(worst < 3000)])
    elif name == "startup":
        summary = report.get("summary")
        if summary:
            rows.append([name, "start to ready < 5 s", summary["ready_s"], _ok(summary["ready_s"] < 5.0)])
            rows.append(
                [
                    name,
                    "resident memory < 300 MB",
                    summary["rss_ready_mb"],
                    _ok(summary["rss_ready_mb"] < 300.0),
                ]
            )
    return rows


def _ok(condition: bool) -> str:
    return "met" if condition else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="coopbot's benchmark suite")
    parser.add_argument("--quick", action="store_true", help="smaller N, for development")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL runs")
    parser.add_argument("--no-gc-freeze", action="store_true", help="do not gc.freeze() after start-up")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    machine = machine_info()
    print(
        f"coopbot benchmarks {stamp}{' (quick)' if args.quick else ''}: {machine['nproc']} CPU "
        f"({machine['cpu']}), Python {machine['python']}, load average {machine['loadavg']}, "
        f"gc.freeze after start-up: {'no' if args.no_gc_freeze else 'yes'}"
    )
    started = time.perf_counter()
    reports: dict[str, Any] = {}
    postgres = not args.no_postgres
    for name in chosen:
        progress(f"== {name}")
        if name == "vote_burst":
            reports[name] = vote_burst.run(
                args.quick, postgres=postgres, gc_freeze=not args.no_gc_freeze, stamp=stamp
            )
        elif name == "vote_path":
            reports[name] = vote_path.run(args.quick, postgres=postgres, stamp=stamp)
        elif name == "close_big":
            reports[name] = close_big.run(args.quick, stamp=stamp)
        elif name == "reminder_burst":
            reports[name] = reminder_burst.run(args.quick, stamp=stamp)
        elif name == "startup":
            reports[name] = startup.run(args.quick, stamp=stamp)
        print()
    rows = [row for name in chosen for row in _targets(name, reports.get(name, {}))]
    print(table(["benchmark", "target", "value", "verdict"], rows, title="Targets"))
    missed = sum(1 for row in rows if row[3] != "met")
    elapsed = time.perf_counter() - started
    path = write_results(
        "summary",
        {"quick": args.quick, "benchmarks": chosen, "targets": rows, "missed": missed, "seconds": elapsed},
        stamp,
    )
    print(f"\n{len(rows) - missed} of {len(rows)} targets met; {elapsed / 60:.1f} min; summary in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
