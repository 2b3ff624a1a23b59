"""The ledger as people read it: pages with filters, every entry, a CSV a spreadsheet opens safely, and
the balance over time for the chart.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from governance.errors import InvalidInput
from governance.funds._common import LEDGER_PAGE_SIZE, LedgerPage, find_fund_in
from governance.i18n import _
from governance.ledger import exact_sum
from governance.money import to_decimal
from storage.database import Database
from storage.models import Fund, LedgerEntry, LedgerKind


def _ledger_filter(fund_id: int, kind: str | None, member_id: int | None) -> list[Any]:
    conditions: list[Any] = [LedgerEntry.fund_id == fund_id]
    if kind:
        try:
            conditions.append(LedgerEntry.kind == LedgerKind(kind).value)
        except ValueError:
            raise InvalidInput(_("Filter by contribution, payout or reversal.")) from None
    if member_id is not None:
        conditions.append(LedgerEntry.member_id == member_id)
    return conditions


async def ledger_page(
    db: Database,
    guild_id: int,
    fund: str | int,
    *,
    page: int = 0,
    per_page: int = LEDGER_PAGE_SIZE,
    kind: str | None = None,
    member_id: int | None = None,
) -> LedgerPage:
    """One page of a fund's ledger, newest first, optionally only one kind or one member's entries; each
    entry with the fund's balance right after it and the entry that reversed it, if any."""
    async with db.read() as session:
        found = await find_fund_in(session, guild_id, fund)
        assert found.id is not None
        conditions = _ledger_filter(found.id, kind, member_id)
        total = int(
            (await session.exec(select(func.count()).select_from(LedgerEntry).where(*conditions))).one()
        )
        pages = max(1, -(-total // per_page))
        page = min(max(page, 0), pages - 1)
        entries = list(
            (
                await session.exec(
                    select(LedgerEntry)
                    .where(*conditions)
                    .order_by(col(LedgerEntry.id).desc())
                    .offset(page * per_page)
                    .limit(per_page)
                )
            ).all()
        )
        balance_after: dict[int, int] = {}
        reversed_by: dict[int, int] = {}
        if entries:
            ids = [entry.id for entry in entries if entry.id is not None]
            # The balance after the newest entry on the page, then walk back through the fund's entries.
            running = await exact_sum(
                session,
                col(LedgerEntry.amount),
                LedgerEntry.fund_id == found.id,
                col(LedgerEntry.id) <= max(ids),
            )
            between = (
                await session.exec(
                    select(LedgerEntry.id, LedgerEntry.amount)
                    .where(
                        LedgerEntry.fund_id == found.id,
                        col(LedgerEntry.id) >= min(ids),
                        col(LedgerEntry.id) <= max(ids),
                    )
                    .order_by(col(LedgerEntry.id).desc())
                )
            ).all()
            for entry_id, amount in between:
                assert entry_id is not None
                balance_after[entry_id] = running
                running -= amount
            reversals = await session.exec(
                select(LedgerEntry.reverses_entry_id, LedgerEntry.id).where(
                    col(LedgerEntry.reverses_entry_id).in_(ids)
                )
            )
            reversed_by = {
                original: reversal for original, reversal in reversals.all() if original and reversal
            }
    return LedgerPage(found, entries, balance_after, reversed_by, page, pages, total)


async def all_entries(db: Database, guild_id: int, fund: str | int) -> tuple[Fund, list[LedgerEntry]]:
    async with db.read() as session:
        found = await find_fund_in(session, guild_id, fund)
        rows = await session.exec(
            select(LedgerEntry).where(LedgerEntry.fund_id == found.id).order_by(col(LedgerEntry.id))
        )
        return found, list(rows.all())


CSV_COLUMNS = (
    "entry",
    "created_at_utc",
    "kind",
    "amount",
    "currency",
    "amount_minor_units",
    "balance_after",
    "member_id",
    "request_id",
    "contribution_id",
    "reverses_entry",
    "reference",
    "reason",
    "recorded_by",
    "idempotency_key",
)


def _sheet_safe(text: str) -> str:
    """Text that a spreadsheet will show, not run: a cell starting with = + - @ is a formula to Excel."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ledger_csv(fund: Fund, entries: Sequence[LedgerEntry]) -> str:
    """Every entry of the fund, oldest first, with the running balance (exact decimals, no floats)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    balance = 0
    for entry in entries:
        balance += entry.amount
        writer.writerow(
            [
                entry.id,
                entry.created_at.isoformat(),
                entry.kind,
                str(to_decimal(entry.amount, fund.currency)),
                entry.currency,
                entry.amount,
                str(to_decimal(balance, fund.currency)),
                entry.member_id or "",
                entry.request_id or "",
                entry.contribution_id or "",
                entry.reverses_entry_id or "",
                _sheet_safe(entry.reference),
                _sheet_safe(entry.reason),
                entry.recorded_by,
                entry.idempotency_key,
            ]
        )
    return buffer.getvalue()


async def export_ledger(db: Database, guild_id: int, fund: str | int) -> tuple[Fund, str]:
    found, entries = await all_entries(db, guild_id, fund)
    return found, ledger_csv(found, entries)


def balance_points(fund: Fund, entries: Sequence[LedgerEntry]) -> list[tuple[datetime, int]]:
    """The balance over time: zero when the fund was made, then the running sum after each entry."""
    points = [(fund.created_at, 0)]
    balance = 0
    for entry in entries:
        balance += entry.amount
        points.append((entry.created_at, balance))
    return points
