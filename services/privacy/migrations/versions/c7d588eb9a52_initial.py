"""initial items, outbox and inbox

Revision ID: c7d588eb9a52
Revises:
Create Date: scaffolded by scripts/new_service.py
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kit.migrations import create_kit_tables, drop_kit_tables

revision: str = "c7d588eb9a52"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created_by", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_items_tenant_created", "items", ["tenant_id", "created_at"], unique=False)
    create_kit_tables()  # outbox and inbox (kit.migrations)


def downgrade() -> None:
    drop_kit_tables()
    op.drop_table("items")
