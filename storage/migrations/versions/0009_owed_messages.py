"""messages the bot owes people in Discord, kept until delivered

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "owed_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owed_messages")),
        sa.UniqueConstraint("guild_id", "key", name="uq_owed_messages_key"),
    )
    with op.batch_alter_table("owed_messages", schema=None) as batch_op:
        batch_op.create_index("ix_owed_messages_status_next", ["status", "next_attempt_at"], unique=False)
    # Closes whose announcement had not gone out (the bot stopped in between) are owed from now on; they
    # were found by a sweep of decisions.announced_at before.
    payload = (
        "json_build_object('decision_id', id)"
        if op.get_bind().dialect.name == "postgresql"
        else "'{\"decision_id\": ' || id || '}'"
    )
    op.execute(
        "INSERT INTO owed_messages (guild_id, kind, key, payload, status, attempts, next_attempt_at, "
        "last_error, created_at) "
        f"SELECT guild_id, 'decision-closed', 'decision-closed:' || id || '@0009', {payload}, "
        "'pending', 0, closed_at, '', closed_at FROM decisions "
        "WHERE status = 'closed' AND announced_at IS NULL AND closed_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("owed_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_owed_messages_status_next")
    op.drop_table("owed_messages")
