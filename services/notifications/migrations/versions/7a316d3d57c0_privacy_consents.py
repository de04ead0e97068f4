"""privacy_consents: notifications' copy of the consent ledger (docs/privacy.md)

Revision ID: 7a316d3d57c0
Revises: 0c9ff6bb0d4a
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a316d3d57c0"
down_revision: str | None = "0c9ff6bb0d4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_consents",
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("person_key", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("lead_id", sa.UUID(as_uuid=False), nullable=True),
        sa.Column("patient_id", sa.UUID(as_uuid=False), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "person_key", "purpose", "channel"),
    )
    op.create_index("ix_privacy_consents_lead", "privacy_consents", ["tenant_id", "lead_id"])
    op.create_index("ix_privacy_consents_phone", "privacy_consents", ["tenant_id", "phone"])


def downgrade() -> None:
    op.drop_index("ix_privacy_consents_phone", table_name="privacy_consents")
    op.drop_index("ix_privacy_consents_lead", table_name="privacy_consents")
    op.drop_table("privacy_consents")
