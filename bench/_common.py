"""What every benchmark shares: statistics, the event-loop lag sampler, memory readings, machine facts,
plain tables, JSON results, and running one measurement in a fresh child process.

Method (docs: /work/shared/design/benchmarks.md): interleave coopbot and its baseline, repeat at least three
times, report medians and the ratio measured in the same run, and treat differences under 1.5x as not
established. Each measurement runs in its own child process so that one run's garbage, caches and
SimCord's loop patches never leak into the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
# Differences smaller than this, between runs on this shared machine, are noise (benchmarks.md).
ESTABLISHED_RATIO = 1.5
PACKAGES = (
    "discord.py",
    "simcord",
    "SQLAlchemy",
    "sqlmodel",
    "aiosqlite",
    "asyncpg",
    "APScheduler",
    "alembic",
    "greenlet",
)


# --- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Iterable[float | None]) -> float:
    present = [v for v in values if v is not None and v == v]  # drop None and NaN
    return statistics.median(present) if present else float("nan")


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / max in milliseconds."""
    return {
        "p50_ms": percentile(seconds, 50) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "max_ms": max(seconds) * 1000 if seconds else float("nan"),
    }


def ratio(a: float, b: float) -> float:
    return a / b if b and a == a and b == b else float("nan")


def verdict(value: float, limit: float, *, at_most: bool = True) -> str:
    if value != value:
        return "n/a"
    ok = value <= limit if at_most else value >= limit
    return "met" if ok else "MISSED"


# --- the event loop ------------------------------------------------------------------------------


class LoopLagSampler:
    """A task that asks to wake every `interval` seconds and records how late it woke: the time any other
    piece of work held the event loop. Uses perf_counter (SimCord replaces time.monotonic for the bot)."""

    def __init__(self, interval: float = 0.010) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.lags = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, time.perf_counter() - before - self.interval))

    async def stop(self) -> dict[str, float]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return {
            "lag_p50_ms": percentile(self.lags, 50) * 1000,
            "lag_p99_ms": percentile(self.lags, 99) * 1000,
            "lag_max_ms": max(self.lags) * 1000 if self.lags else float("nan"),
            "lag_samples": len(self.lags),
        }


def freeze_after_startup(enabled: bool) -> None:
    """gc.freeze() after start-up (allowed by benchmarks.md, and reported): what start-up allocated is
    moved out of the collector's way, so full collections during a burst scan only new objects."""
    gc.collect()
    if enabled:
        gc.freeze()


# --- memory --------------------------------------------------------------------------------------


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss_mb() -> float:
    """Resident memory of this process now."""
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    """The highest resident memory since start, or since reset_peak_rss()."""
    return _status_kb("VmHWM") / 1024


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


# --- machine facts -------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    cpu_model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu_model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "loadavg": [round(value, 2) for value in load],
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


# --- tables and results --------------------------------------------------------------------------


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) < 10:
            return f"{value:.{digits + 1}f}"  # ratios and small figures: one more digit
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A plain text table (also valid Markdown)."""
    cells = [[fmt(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = []
    if title:
        lines.append(f"\n{title}")
    lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_results(name: str, payload: dict[str, Any], stamp: str | None = None) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    document = {"benchmark": name, "created_at": stamp, "machine": machine_info(), **payload}
    path.write_text(json.dumps(_json_safe(document), indent=2) + "\n", encoding="utf-8")
    return path


# --- child processes -----------------------------------------------------------------------------

_RESULT_MARK = "@@bench-result@@ "


@dataclass
class ChildFailure:
    """A measurement whose process failed: reported as such, never silently dropped."""

    target: str
    params: dict[str, Any]
    error: str
    stderr_tail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def run_child(target: str, params: dict[str, Any], *, timeout: float = 900) -> dict[str, Any]:
    """Run `module:function(params)` (an async function returning a JSON-able dict) in a fresh Python
    process and return its result; on failure, a dict with "error"."""
    command = [sys.executable, "-X", "faulthandler", "-m", "bench._child", target, json.dumps(params)]
    try:
        completed = subprocess.run(
            command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as expired:
        return {"error": f"timed out after {timeout:.0f} s", "stderr": str(expired.stderr or "")[-2000:]}
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(_RESULT_MARK):
            result: dict[str, Any] = json.loads(line.removeprefix(_RESULT_MARK))
            return result
    return {
        "error": f"child exited with {completed.returncode} and no result",
        "stderr": completed.stderr[-3000:],
    }


def child_main(argv: Sequence[str]) -> int:
    """Entry point of a child process: import the target, run it, print its result on one marked line."""
    target, raw = argv[0], argv[1]
    module_name, function_name = target.split(":")
    function: Callable[[dict[str, Any]], Any] = getattr(importlib.import_module(module_name), function_name)
    result = asyncio.run(function(json.loads(raw)))
    sys.stdout.write(_RESULT_MARK + json.dumps(_json_safe(result)) + "\n")
    sys.stdout.flush()
    return 0


def progress(message: str) -> None:
    """A progress line on stderr (tables go to stdout)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
