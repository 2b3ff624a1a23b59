"""funding rounds: rounds, allocations, buckets, what members put in them, concerns

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:49:42.769227
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("guidelines", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("pot", sa.BigInteger(), nullable=False),
        sa.Column("per_member", sa.BigInteger(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("max_per_bucket", sa.BigInteger(), nullable=True),
        sa.Column("own_buckets", sa.Boolean(), nullable=False),
        sa.Column("creators_open", sa.Boolean(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("funding_opens_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("funding_closes_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("funding_opened_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ideas_reminded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("funding_reminded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "allocated >= 0 AND allocated <= pot", name=op.f("ck_rounds_allocated_within_pot")
        ),
        sa.CheckConstraint("pot > 0", name=op.f("ck_rounds_pot_positive")),
        sa.ForeignKeyConstraint(["fund_id"], ["funds.id"], name=op.f("fk_rounds_fund_id_funds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.create_index("ix_rounds_phase", ["phase"], unique=False)

    op.create_table(
        "buckets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("budget", sa.JSON(), nullable=False),
        sa.Column("min_total", sa.BigInteger(), nullable=False),
        sa.Column("max_total", sa.BigInteger(), nullable=False),
        sa.Column("funded", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("co_creators", sa.JSON(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("funded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "funded >= 0 AND funded <= max_total", name=op.f("ck_buckets_funded_within_budget")
        ),
        sa.CheckConstraint(
            "min_total > 0 AND min_total <= max_total", name=op.f("ck_buckets_budget_in_order")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_buckets_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buckets")),
    )
    with op.batch_alter_table("buckets", schema=None) as batch_op:
        batch_op.create_index("ix_buckets_round_status", ["round_id", "status"], unique=False)

    op.create_table(
        "round_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "spent >= 0 AND spent <= allocated", name=op.f("ck_round_allocations_spent_within_allocated")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_round_allocations_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_allocations")),
        sa.UniqueConstraint("round_id", "member_id", name="uq_round_allocations_member"),
    )
    op.create_table(
        "bucket_concerns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("bucket_id", sa.Integer(), nullable=False),
        sa.Column("guideline", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("raised_by", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bucket_id"], ["buckets.id"], name=op.f("fk_bucket_concerns_bucket_id_buckets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bucket_concerns")),
    )
    op.create_table(
        "bucket_funding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("bucket_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_bucket_funding_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["bucket_id"], ["buckets.id"], name=op.f("fk_bucket_funding_bucket_id_buckets")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_bucket_funding_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bucket_funding")),
        sa.UniqueConstraint("bucket_id", "member_id", name="uq_bucket_funding_member"),
    )
    op.create_table(
        "bucket_funding_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("bucket_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_id"], ["buckets.id"], name=op.f("fk_bucket_funding_events_bucket_id_buckets")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_bucket_funding_events_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bucket_funding_events")),
        sa.UniqueConstraint("guild_id", "idempotency_key", name="uq_bucket_funding_events_key"),
    )


def downgrade() -> None:
    op.drop_table("bucket_funding_events")
    op.drop_table("bucket_funding")
    op.drop_table("bucket_concerns")
    op.drop_table("round_allocations")
    with op.batch_alter_table("buckets", schema=None) as batch_op:
        batch_op.drop_index("ix_buckets_round_status")

    op.drop_table("buckets")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_index("ix_rounds_phase")

    op.drop_table("rounds")
