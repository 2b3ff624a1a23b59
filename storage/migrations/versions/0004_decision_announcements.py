"""decision announcements: when a close was shown in Discord

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 12:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("announced_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    # Decisions closed before this revision were announced when they closed.
    op.execute("UPDATE decisions SET announced_at = closed_at WHERE status = 'closed'")


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("announced_at")
