"""waitlist entries

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-12-01 15:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b2c3d4e5f6a7"
down_revision: str | None = "a1b2c3d4e5f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("person", postgresql.JSONB(), nullable=False),
        sa.Column("branch_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("procedure_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("professional_id", sa.UUID(as_uuid=False), nullable=True),
        sa.Column("not_before", sa.Date(), nullable=True),
        sa.Column("not_after", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("hold_id", sa.UUID(as_uuid=False), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_waitlist_waiting", "waitlist_entries", ["tenant_id", "branch_id", "procedure_id", "created_at"]
    )
    op.create_index("ix_waitlist_hold", "waitlist_entries", ["hold_id"])


def downgrade() -> None:
    op.drop_table("waitlist_entries")
