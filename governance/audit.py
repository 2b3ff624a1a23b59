"""The audit log: every governance action writes one event in the same transaction as the change.

The log is also the outbox of outbound webhooks: listeners registered with `on_commit` hear which actions
were committed (after the commit, never for a rolled-back change) and deliver them later, so a command
never waits for another tool.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, func
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import Database
from storage.models import AuditEvent

PAGE_SIZE = 15
_COMMITTED_KEY = "coopbot_audit_actions"
CommitListener = Callable[[list[str]], None]
_listeners: list[CommitListener] = []


def record(
    session: AsyncSession,
    *,
    guild_id: int,
    actor_id: int | None,
    action: str,
    at: datetime,
    subject: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to `session`'s transaction (it commits or rolls back with the change)."""
    audit_event = AuditEvent(
        guild_id=guild_id,
        actor_id=actor_id,
        action=action,
        subject=subject,
        details=details or {},
        created_at=at,
    )
    session.add(audit_event)
    session.sync_session.info.setdefault(_COMMITTED_KEY, []).append(action)
    return audit_event


def on_commit(listener: CommitListener) -> Callable[[], None]:
    """Call `listener` with the actions of every committed transaction that recorded some; returns the
    function that removes it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    actions = session.info.pop(_COMMITTED_KEY, None)
    if actions:
        for listener in list(_listeners):
            listener(actions)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_COMMITTED_KEY, None)


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    total: int
    page: int
    pages: int


async def search(
    db: Database,
    guild_id: int,
    *,
    actions: Collection[str] | str | None = None,
    actor_id: int | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    page: int = 0,
    per_page: int = PAGE_SIZE,
) -> AuditPage:
    """The guild's audit log, newest first. `actions` is a prefix ("decision", "fund.request") or a set;
    `actor_id` who acted, `subject` what it was about ("member:<user id>", "decision:<id>"…)."""
    conditions: list[Any] = [AuditEvent.guild_id == guild_id]
    if isinstance(actions, str) and actions:
        conditions.append(col(AuditEvent.action).startswith(actions, autoescape=True))
    elif actions:
        conditions.append(col(AuditEvent.action).in_(list(actions)))
    if actor_id is not None:
        conditions.append(AuditEvent.actor_id == actor_id)
    if subject is not None:
        conditions.append(AuditEvent.subject == subject)
    if since is not None:
        conditions.append(col(AuditEvent.created_at) >= since)
    async with db.read() as session:
        total = (await session.exec(select(func.count()).select_from(AuditEvent).where(*conditions))).one()
        rows = await session.exec(
            select(AuditEvent)
            .where(*conditions)
            .order_by(col(AuditEvent.id).desc())
            .offset(page * per_page)
            .limit(per_page)
        )
        events = list(rows.all())
    return AuditPage(events, total, page, max(1, (total + per_page - 1) // per_page))
