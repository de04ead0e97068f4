"""the reply assistant: the clinic's model settings, the suggestions made, the suggestion a message used

Revision ID: 1847b8ad5e21
Revises: 4e8a1f0c7b21
Create Date: 2026-12-02 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "1847b8ad5e21"
down_revision: str | None = "4e8a1f0c7b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
ID = postgresql.UUID(as_uuid=False)


def upgrade() -> None:
    op.add_column("messages", sa.Column("suggestion", postgresql.JSONB(), nullable=True))
    op.create_table(
        "assistant_settings",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("prompt_price", sa.Numeric(12, 6), nullable=True),
        sa.Column("completion_price", sa.Numeric(12, 6), nullable=True),
        sa.Column("updated_by", ID, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "reply_suggestions",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("staff_id", ID, nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("texts", postgresql.JSONB(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(14, 6), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_reply_suggestions_conversation", "reply_suggestions", ["tenant_id", "conversation_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_reply_suggestions_conversation", table_name="reply_suggestions")
    op.drop_table("reply_suggestions")
    op.drop_table("assistant_settings")
    op.drop_column("messages", "suggestion")
