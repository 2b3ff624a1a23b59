"""audit events by subject: /coop audit about:someone

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 15:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_events_guild_subject", "audit_events", ["guild_id", "subject"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_events_guild_subject", table_name="audit_events")
