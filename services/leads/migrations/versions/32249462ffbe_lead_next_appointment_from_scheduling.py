"""lead next appointment from scheduling

Revision ID: 32249462ffbe
Revises: 7c4d2e1f0a33
Create Date: 2026-12-01 16:08:03.076714
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "32249462ffbe"
down_revision: str | None = "7c4d2e1f0a33"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: adding them rewrites nothing.
    op.add_column("leads", sa.Column("next_appointment_id", sa.Text(), nullable=True))
    op.add_column("leads", sa.Column("next_appointment_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("leads", sa.Column("next_appointment_procedure", sa.Text(), nullable=True))
    op.add_column("leads", sa.Column("next_appointment_branch", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("leads", "next_appointment_branch")
    op.drop_column("leads", "next_appointment_procedure")
    op.drop_column("leads", "next_appointment_at")
    op.drop_column("leads", "next_appointment_id")
