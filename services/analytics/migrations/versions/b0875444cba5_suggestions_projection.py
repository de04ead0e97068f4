"""the reply assistant's suggestions projection (reply.suggested and the message.sent that used them)

Revision ID: b0875444cba5
Revises: e44c47bbe7f2
Create Date: 2026-12-02 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0875444cba5"
down_revision: str | None = "e44c47bbe7f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("suggestion_id", sa.Text(), nullable=False),
        sa.Column("suggested_at", TS, nullable=True),
        sa.Column("staff_id", sa.Text(), nullable=True),
        sa.Column("conversation_id", sa.Text(), nullable=True),
        sa.Column("lead_id", sa.Text(), nullable=True),
        sa.Column("patient_id", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("offered", sa.Integer(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Numeric(14, 6), nullable=True),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("use", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "suggestion_id"),
    )
    op.create_index("ix_suggestions_tenant_suggested", "suggestions", ["tenant_id", "suggested_at"])


def downgrade() -> None:
    op.drop_index("ix_suggestions_tenant_suggested", table_name="suggestions")
    op.drop_table("suggestions")
