"""valuation opened by a request: the clinic's treatments that need one, the leads' contact copy, one per request

Revision ID: bd46f1b0c260
Revises: b877dd7605bd
Create Date: 2026-12-02 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "bd46f1b0c260"
down_revision: str | None = "b877dd7605bd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("valuations", sa.Column("request_id", sa.Text(), nullable=True))
    op.create_index(
        "uq_valuations_request", "valuations", ["tenant_id", "request_id"], unique=True,
        postgresql_where=sa.text("request_id IS NOT NULL"),
    )  # fmt: skip
    op.create_table(
        "valuation_settings",
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("treatments", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("agent_id", sa.UUID(as_uuid=False), nullable=True),
        sa.Column("updated_by", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "valuation_leads",
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("lead_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("locale", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.UUID(as_uuid=False), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "lead_id"),
    )


def downgrade() -> None:
    op.drop_table("valuation_leads")
    op.drop_table("valuation_settings")
    op.drop_index("uq_valuations_request", table_name="valuations")
    op.drop_column("valuations", "request_id")
