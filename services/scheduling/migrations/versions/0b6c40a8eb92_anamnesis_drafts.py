"""anamnesis_drafts: the answers given so far, before signing, kept on the server

Revision ID: 0b6c40a8eb92
Revises: c3d4e5f6a7b8
Create Date: 2026-12-02 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0b6c40a8eb92"
down_revision: str | None = "c3d4e5f6a7b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "anamnesis_drafts",
        sa.Column("tenant_id", UUID(as_uuid=False), nullable=False),
        sa.Column("appointment_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("questionnaire_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("answers", JSONB, nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("anamnesis_drafts")
