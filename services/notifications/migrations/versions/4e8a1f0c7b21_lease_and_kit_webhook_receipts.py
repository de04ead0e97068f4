"""messages leased by kit's LeaseDispatcher; webhook receipts in kit's shape

Revision ID: 4e8a1f0c7b21
Revises: 2b7d4c1e9a30
Create Date: 2026-12-01 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4e8a1f0c7b21"
down_revision: str | None = "2b7d4c1e9a30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("messages", sa.Column("leased_until", TS, nullable=True))
    # The first receipts table held (provider, event_id) only; kit.webhooks keeps scope, raw body and headers.
    # Receipts only stop redeliveries of recent deliveries, so the old rows are not carried over.
    op.drop_table("webhook_receipts")
    op.create_table(
        "webhook_receipts",
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("provider", "scope", "event_id"),
    )
    op.create_index("ix_webhook_receipts_received_at", "webhook_receipts", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_receipts_received_at", table_name="webhook_receipts")
    op.drop_table("webhook_receipts")
    op.create_table(
        "webhook_receipts",
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id"),
    )
    op.drop_column("messages", "leased_until")
