"""money in treasurers' hands (moderators only by choice); the ledger refuses TRUNCATE too

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("guilds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("moderators_are_treasurers", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # The row triggers of 0003 refuse UPDATE and DELETE; TRUNCATE skips row triggers, so it gets a statement
    # trigger of its own. (SQLite has no TRUNCATE: its DELETE trigger covers the same.)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries")
    with op.batch_alter_table("guilds", schema=None) as batch_op:
        batch_op.drop_column("moderators_are_treasurers")
