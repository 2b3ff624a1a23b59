"""The ledger's primitives: a fund's balance moved by the database (never below zero, never past
MAX_BALANCE), a new append-only entry, and sums that cannot overflow. Funds and rounds move money only
through these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm import Mapped
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance.errors import Conflict
from governance.i18n import Text, _
from governance.money import MAX_BALANCE, Money
from storage.models import Fund, LedgerEntry, LedgerKind

# SQLite's SUM raises "integer overflow" once its running total passes 2**63 - 1, and the order in which it
# adds rows is its own, so a sum of many large amounts is taken in two halves: each value's quotient by 2**32
# (at most 2**31 in size) and its remainder (below 2**32), which SQLite and PostgreSQL both truncate toward
# zero. A table has fewer than 2**31 rows (ids are 32-bit), so neither half's sum can reach 2**63, whatever
# the rows and their order; Python puts the halves together exactly.
_SUM_SPLIT = 2**32


async def exact_sum(session: AsyncSession, column: Mapped[Any], *conditions: Any) -> int:
    """The exact sum of an integer column over the rows matching `conditions` (0 for none)."""
    high, low = (
        await session.exec(
            select(func.sum(column // _SUM_SPLIT), func.sum(column % _SUM_SPLIT)).where(*conditions)
        )
    ).one()
    return int(high or 0) * _SUM_SPLIT + int(low or 0)


async def derived_balance(session: AsyncSession, fund_id: int) -> int:
    return await exact_sum(session, col(LedgerEntry.amount), LedgerEntry.fund_id == fund_id)


def over_capacity(fund: Fund, amount: int) -> Conflict:
    currency = fund.currency
    return Conflict(
        _(
            "A fund holds at most {most} and {fund} has {balance}: {amount} more would pass that. "
            "Nothing was recorded.",
            most=Money(MAX_BALANCE, currency),
            fund=fund.name,
            balance=Money(fund.balance, currency),
            amount=Money(amount, currency),
        )
    )


def refuse_over_capacity(fund: Fund, amount: int) -> None:
    """Refuse, before anything is written, money that would take the fund past :data:`MAX_BALANCE`."""
    if amount > MAX_BALANCE - fund.balance:
        raise over_capacity(fund, amount)


async def move_balance(session: AsyncSession, fund: Fund, amount: int, *, overdraw: str | Text = "") -> None:
    """Add `amount` (negative takes money out) to the fund's balance, decided by the database: taking out
    more than the balance (refused with `overdraw`), or adding past MAX_BALANCE, matches no row, and the
    whole transaction is refused. The bound is compared before the sum is made, which never overflows."""
    assert fund.id is not None
    statement = update(Fund).where(col(Fund.id) == fund.id, col(Fund.guild_id) == fund.guild_id)
    if amount < 0:
        statement = statement.where(col(Fund.balance) >= -amount)
    else:
        statement = statement.where(col(Fund.balance) <= MAX_BALANCE - amount)
    moved = await session.exec(statement.values(balance=col(Fund.balance) + amount))
    if not moved.rowcount:
        raise Conflict(overdraw) if amount < 0 else over_capacity(fund, amount)
    await session.refresh(fund, attribute_names=["balance"])


def ledger_entry(
    fund: Fund,
    *,
    kind: LedgerKind,
    amount: int,
    recorded_by: int,
    key: str,
    now: datetime,
    member_id: int | None = None,
    request_id: int | None = None,
    contribution_id: int | None = None,
    reverses_entry_id: int | None = None,
    reference: str = "",
    reason: str = "",
) -> LedgerEntry:
    assert fund.id is not None
    return LedgerEntry(
        guild_id=fund.guild_id,
        fund_id=fund.id,
        kind=kind.value,
        amount=amount,
        currency=fund.currency,
        member_id=member_id,
        request_id=request_id,
        contribution_id=contribution_id,
        reverses_entry_id=reverses_entry_id,
        reference=reference,
        reason=reason,
        idempotency_key=key,
        recorded_by=recorded_by,
        created_at=now,
    )
