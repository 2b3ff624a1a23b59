"""The cooperative's whole record, exported: one JSON file and one CSV file per kind of record.

Rows are read in chunks and written as they come (never one giant string in memory), and file writes run
in a worker thread so the event loop never waits on the disk. What the export leaves out on purpose:
webhook secrets, the text of personal reminders (private to their owner), and any link between a voter
and a choice in an anonymous decision.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import CompoundSelect, union
from sqlmodel import SQLModel, col, select

from governance import audit
from governance.coop import locked_settings, settings_in
from governance.i18n import SOURCE, Text, _, _n
from governance.limits import HOUR, UNLIMITED, Limits, enforce
from governance.permissions import Actor, require_moderator
from storage.database import Database
from storage.models import (
    Application,
    AuditEvent,
    Bucket,
    BucketConcern,
    BucketFundingEvent,
    Contribution,
    CoopSettings,
    Decision,
    Fund,
    FundingRequest,
    LedgerEntry,
    Member,
    Reminder,
    ReminderKind,
    Round,
    RoundAllocation,
    Vote,
    VoteEvent,
)

SCHEMA_VERSION = 1
CHUNK = 500
JSON_NAME = "coopbot-export.json"


@dataclass(frozen=True)
class Section:
    name: str
    model: type[SQLModel]
    # Turns one stored row into what is exported (dropping or blanking what must not leave).
    shape: Callable[[dict[str, Any], set[int]], dict[str, Any] | None] = lambda row, _anonymous: row


def _without_voter(row: dict[str, Any], anonymous: set[int]) -> dict[str, Any]:
    if row["decision_id"] in anonymous:
        row["voter_id"] = None
    return row


def _reminder(row: dict[str, Any], _anonymous: set[int]) -> dict[str, Any]:
    if row["kind"] == ReminderKind.PERSONAL.value:
        row["message"] = ""
    return row


SECTIONS: tuple[Section, ...] = (
    Section("members", Member),
    Section("applications", Application),
    Section("decisions", Decision),
    Section("votes", Vote, _without_voter),
    Section("vote_history", VoteEvent, _without_voter),
    Section("funds", Fund),
    Section("ledger", LedgerEntry),
    Section("contributions", Contribution),
    Section("funding_requests", FundingRequest),
    Section("rounds", Round),
    Section("round_allocations", RoundAllocation),
    Section("buckets", Bucket),
    Section("bucket_contributions", BucketFundingEvent),
    Section("bucket_concerns", BucketConcern),
    Section("reminders", Reminder, _reminder),
    Section("audit", AuditEvent),
)

# Each section's records in the words people use, singular and plural ("1 fund", "13 vote changes"), in
# each reader's language.
RECORD_WORDS: dict[str, Callable[[int], Text]] = {
    "members": lambda count: _n("{count} person", "{count} people", count),
    "applications": lambda count: _n("{count} application", "{count} applications", count),
    "decisions": lambda count: _n("{count} decision", "{count} decisions", count),
    "votes": lambda count: _n("{count} vote", "{count} votes", count),
    "vote_history": lambda count: _n("{count} vote change", "{count} vote changes", count),
    "funds": lambda count: _n("{count} fund", "{count} funds", count),
    "ledger": lambda count: _n("{count} ledger entry", "{count} ledger entries", count),
    "contributions": lambda count: _n("{count} contribution", "{count} contributions", count),
    "funding_requests": lambda count: _n("{count} funding request", "{count} funding requests", count),
    "rounds": lambda count: _n("{count} funding round", "{count} funding rounds", count),
    "round_allocations": lambda count: _n("{count} allocation", "{count} allocations", count),
    "buckets": lambda count: _n("{count} bucket", "{count} buckets", count),
    "bucket_contributions": lambda count: _n(
        "{count} contribution to a bucket", "{count} contributions to buckets", count
    ),
    "bucket_concerns": lambda count: _n("{count} concern", "{count} concerns", count),
    "reminders": lambda count: _n("{count} reminder", "{count} reminders", count),
    "audit": lambda count: _n("{count} audit event", "{count} audit events", count),
}


@dataclass(frozen=True)
class Summary:
    """What an export holds, in words: "3 people, 13 vote changes, 1 fund" in the reader's language."""

    parts: tuple[Text, ...]

    def render(self, language: str) -> str:
        return ", ".join(part.render(language) for part in self.parts) or _("nothing yet").render(language)

    def __str__(self) -> str:
        return self.render(SOURCE)


def summary(rows: dict[str, int]) -> Summary:
    """What an export holds (empty sections left out); ``str()`` of it is the English."""
    return Summary(tuple(RECORD_WORDS[name](count) for name, count in rows.items() if count))


# What the JSON file promises (JSON Schema, draft 2020-12). Every section is a list of objects with an id.
EXPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "coopbot export",
    "type": "object",
    "required": ["schema_version", "exported_at", "guild_id", "cooperative", *[s.name for s in SECTIONS]],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "exported_at": {"type": "string", "format": "date-time"},
        "guild_id": {"type": "string", "pattern": "^[0-9]+$"},
        "cooperative": {"type": "object", "required": ["id", "timezone", "currency"]},
        **{
            section.name: {
                "type": "array",
                "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
            }
            for section in SECTIONS
        },
    },
}


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    files: list[Path]
    rows: dict[str, int]

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for path in self.files)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _row(instance: SQLModel) -> dict[str, Any]:
    return {name: _plain(value) for name, value in instance.model_dump().items()}


def _guild_column(model: type[SQLModel]) -> Any:
    return model.guild_id  # type: ignore[attr-defined]


def known_guilds(guild_id: int | None = None) -> CompoundSelect:
    """The ids of the guilds the database holds anything of (or only `guild_id`, if it does): a settings
    row or any row of the export. Not the settings rows alone: a guild gets one at its first settings
    change, which may come after its first members, proposals or funds."""
    columns = [col(CoopSettings.id), *(_guild_column(section.model) for section in SECTIONS)]
    return union(*(select(c) if guild_id is None else select(c).where(c == guild_id) for c in columns))


async def has_record(db: Database, guild_id: int) -> bool:
    """Whether there is anything to export for the guild."""
    async with db.read() as session:
        return await session.scalar(known_guilds(guild_id).limit(1)) is not None


async def _rows(db: Database, model: type[SQLModel], guild_id: int) -> AsyncIterator[list[SQLModel]]:
    """The guild's rows of `model` in id order, CHUNK at a time (keyset paging: constant memory)."""
    last_id = 0
    model_id: Any = model.id  # type: ignore[attr-defined]
    model_guild = _guild_column(model)
    while True:
        async with db.read() as session:
            chunk = list(
                (
                    await session.exec(
                        select(model)
                        .where(model_guild == guild_id, col(model_id) > last_id)
                        .order_by(col(model_id))
                        .limit(CHUNK)
                    )
                ).all()
            )
        if not chunk:
            return
        yield chunk
        last_id = chunk[-1].id  # type: ignore[attr-defined]


async def _write(handle: TextIO, text: str) -> None:
    await asyncio.to_thread(handle.write, text)


async def export_guild(db: Database, guild_id: int, folder: Path, now: datetime) -> ExportResult:
    """Write the guild's record into `folder` (created if needed); returns the files written."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    async with db.read() as session:
        settings = await settings_in(session, guild_id, now)
        anonymous = set(
            (
                await session.exec(
                    select(Decision.id).where(
                        Decision.guild_id == guild_id, col(Decision.anonymous).is_(True)
                    )
                )
            ).all()
        )
    anonymous_ids = {decision_id for decision_id in anonymous if decision_id is not None}
    json_path = folder / JSON_NAME
    files = [json_path]
    counts: dict[str, int] = {}
    json_file = await asyncio.to_thread(json_path.open, "w", encoding="utf-8")
    try:
        head = {
            "schema_version": SCHEMA_VERSION,
            "exported_at": now.isoformat(),
            "guild_id": str(guild_id),
            "cooperative": _row(settings),
        }
        await _write(json_file, json.dumps(head, ensure_ascii=False)[:-1])
        for section in SECTIONS:
            csv_path = folder / f"{section.name}.csv"
            files.append(csv_path)
            columns = list(section.model.model_fields)
            csv_file = await asyncio.to_thread(csv_path.open, "w", encoding="utf-8", newline="")
            try:
                buffer = io.StringIO()
                writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
                writer.writeheader()
                await _write(json_file, f', "{section.name}": [')
                count = 0
                async for chunk in _rows(db, section.model, guild_id):
                    parts = []
                    for instance in chunk:
                        shaped = section.shape(_row(instance), anonymous_ids)
                        if shaped is None:
                            continue
                        writer.writerow({key: _csv_value(value) for key, value in shaped.items()})
                        parts.append(json.dumps(shaped, ensure_ascii=False))
                    if parts:
                        await _write(json_file, ("," if count else "") + ",".join(parts))
                        count += len(parts)
                    await _write(csv_file, buffer.getvalue())
                    buffer.seek(0)
                    buffer.truncate()
                await _write(csv_file, buffer.getvalue())
                await _write(json_file, "]")
                counts[section.name] = count
            finally:
                await asyncio.to_thread(csv_file.close)
        await _write(json_file, "}\n")
    finally:
        await asyncio.to_thread(json_file.close)
    return ExportResult(folder, files, counts)


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return value


# --- /coop export: how often, and what is kept on the bot's disk ---------------------------------------


async def authorise_export(
    db: Database, *, guild_id: int, actor: Actor, now: datetime, limits: Limits = UNLIMITED
) -> None:
    """A moderator's export: at most `limits.exports_per_hour` per cooperative (each reads the whole
    record), recorded in the audit log as who took a copy of the cooperative's data."""
    async with db.write() as session:
        require_moderator(await locked_settings(session, guild_id, now), actor)
        await enforce(
            session,
            guild_id=guild_id,
            action="coop.export",
            allowed=limits.exports_per_hour,
            window=HOUR,
            now=now,
            refusal=_n(
                "The cooperative was exported {count} time in the last hour.",
                "The cooperative was exported {count} times in the last hour.",
                limits.exports_per_hour,
            ),
        )
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="coop.export",
            subject=f"guild:{guild_id}",
            at=now,
        )


@dataclass(frozen=True)
class KeptExport:
    name: str  # the archive's file name, which is what a person is told (never the server's path)
    removed: int  # older archives removed to stay within the limits


def keep_export(
    folder: Path, root: Path, guild_id: int, now: datetime, *, keep_days: int, keep_mb: int
) -> KeptExport:
    """Keep an export too large for Discord as one zip archive in `root`/<guild id>/, then remove that
    cooperative's archives older than `keep_days`, and the oldest while they take more than `keep_mb`
    (the newest is always kept). Blocking: run it in a worker thread."""
    shelf = root / str(guild_id)
    shelf.mkdir(parents=True, exist_ok=True)
    archive = Path(shutil.make_archive(str(shelf / _archive_stem(now)), "zip", folder))
    # The names carry the time they were made (UTC, sortable): newest first, and old ones by name.
    kept = sorted(shelf.glob("coopbot-export-*.zip"), key=lambda path: path.name, reverse=True)
    too_old = f"{_archive_stem(now - timedelta(days=keep_days))}.zip"
    budget = keep_mb * 1_000_000
    removed = 0
    used = 0
    for index, path in enumerate(kept):
        size = path.stat().st_size
        used += size
        if index and (used > budget or path.name < too_old):
            path.unlink(missing_ok=True)
            used -= size
            removed += 1
    return KeptExport(name=archive.name, removed=removed)


def _archive_stem(moment: datetime) -> str:
    return f"coopbot-export-{moment.astimezone(UTC):%Y%m%d-%H%M%S}"
