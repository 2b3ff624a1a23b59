"""The audit log: every governance action writes one event in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEvent


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
    event = AuditEvent(
        guild_id=guild_id,
        actor_id=actor_id,
        action=action,
        subject=subject,
        details=details or {},
        created_at=at,
    )
    session.add(event)
    return event
