"""index charges by provider payment id (webhook lookups)

Revision ID: 7c1f0a2b9d31
Revises: 4e9d14205495
Create Date: 2026-12-01 15:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c1f0a2b9d31"
down_revision: str | None = "4e9d14205495"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_charges_provider_payment", "charges", ["tenant_id", "provider_payment_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_charges_provider_payment", table_name="charges")
