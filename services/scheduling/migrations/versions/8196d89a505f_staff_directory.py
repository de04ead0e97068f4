"""staff: the clinics' staff directory from the gateway's events (who may be linked to a professional)

Revision ID: 8196d89a505f
Revises: 0b6c40a8eb92
Create Date: 2026-12-02 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "8196d89a505f"
down_revision: str | None = "0b6c40a8eb92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("tenant_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staff")
