"""Fair use: how often one person, or one cooperative, may do what pings other people or costs the bot a
lot. Counted from the audit log, where each of these actions is recorded anyway, inside the transaction of
the action itself: every process sees the same counts, and a refused attempt records nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance.errors import DomainError
from governance.i18n import Text, _
from governance.timeparse import discord_timestamp
from storage.models import AuditEvent

HOUR = timedelta(hours=1)


class TooSoon(DomainError):
    """An action came again sooner than its limit allows; the message says when it can come again."""


@dataclass(frozen=True)
class Limits:
    """The limits in force (the operator's settings; see config.Settings). Zero turns a count off."""

    remind_every: timedelta = timedelta(hours=6)  # /proposal remind, per proposal
    proposals_per_hour: int = 10  # per member; moderators are not counted
    requests_per_hour: int = 10  # funding requests, per member
    exports_per_hour: int = 3  # /coop export, per cooperative
    webhook_tests_per_hour: int = 10  # /coop webhooks test, per cooperative


# What scripts, benchmarks and the governance API get unless they ask: the bot passes its own (Settings).
UNLIMITED = Limits(
    remind_every=timedelta(0),
    proposals_per_hour=0,
    requests_per_hour=0,
    exports_per_hour=0,
    webhook_tests_per_hour=0,
)


async def enforce(
    session: AsyncSession,
    *,
    guild_id: int,
    action: str,
    allowed: int,
    window: timedelta,
    now: datetime,
    refusal: str | Text,
    actor_id: int | None = None,
    subject: str | None = None,
) -> None:
    """Refuse (TooSoon) when `allowed` events of `action` (by `actor_id`, about `subject`, where given) were
    recorded in the `window` before `now`. `refusal` is the sentence before "try again <when>"."""
    if allowed <= 0:
        return
    query = (
        select(AuditEvent.created_at)
        .where(
            AuditEvent.guild_id == guild_id,
            AuditEvent.action == action,
            col(AuditEvent.created_at) > now - window,
        )
        .order_by(col(AuditEvent.created_at).desc())
        .limit(allowed)
    )
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    recent = (await session.exec(query)).all()
    if len(recent) < allowed:
        return
    # The oldest of the last `allowed` leaves the window first.
    again = recent[-1] + window
    raise TooSoon(_("{refusal} Try again {when}.", refusal=refusal, when=discord_timestamp(again, "R")))
